// The label editor: a map of class ids painted with integer pixel operations (never anti-aliased),
// sent to the server as a PNG after each stroke; the generated picture replaces the previous one.
"use strict";

const DEBOUNCE_MS = 150;     // wait this long after a stroke for the next one before generating
const HISTORY_LIMIT = 100;   // undo steps kept
const DISPLAY_SIDE = 384;    // the long side of the canvas and picture on screen, in CSS pixels
const PNG_HEADERS = {"Content-Type": "image/png"};

const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  ids: null,          // Uint8Array, width*height class ids, row by row
  colours: null,      // Uint8Array, 3 bytes per class id
  fileIds: null,      // Uint8Array, the id each class has in a label file (255 for dontcare)
  paintClass: 0,
  styleSources: [],   // SEAN runs: the strip image whose style code each class takes
  eraseClass: 0,
  undo: [],
  redo: [],
  lastPoint: null,
  strokeEndedAt: 0,
  pictureUrl: null,
  request: {timer: null, inFlight: false, again: false},
};

// ---- the label map ----------------------------------------------------------------------------

function snapshot() {
  if (!state.ids) return;
  state.undo.push(state.ids.slice());
  if (state.undo.length > HISTORY_LIMIT) state.undo.shift();
  state.redo = [];
}

function restore(from, to) {
  if (!from.length) return;
  to.push(state.ids);
  state.ids = from.pop();
  render();
  labelChanged();
}

function render() {
  const {width, height} = state.info;
  const canvas = $("label-canvas");
  const image = canvas.getContext("2d").createImageData(width, height);
  for (let i = 0; i < state.ids.length; i++) {
    const c = state.ids[i] * 3;
    image.data.set([state.colours[c], state.colours[c + 1], state.colours[c + 2], 255], i * 4);
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function stamp(cx, cy, size, id) {
  const {width, height} = state.info;
  const radius = size / 2;
  const reach = Math.floor(radius);
  for (let dy = -reach; dy <= reach; dy++) {
    for (let dx = -reach; dx <= reach; dx++) {
      const x = cx + dx, y = cy + dy;
      if (dx * dx + dy * dy <= radius * radius && x >= 0 && y >= 0 && x < width && y < height) {
        state.ids[y * width + x] = id;
      }
    }
  }
}

function paintLine(from, to, id) {
  const size = Number($("brush-size").value);
  const steps = Math.max(Math.abs(to.x - from.x), Math.abs(to.y - from.y), 1);
  for (let i = 0; i <= steps; i++) {
    stamp(Math.round(from.x + (to.x - from.x) * i / steps), Math.round(from.y + (to.y - from.y) * i / steps), size, id);
  }
}

function floodFill(x, y, id) {
  const {width, height} = state.info;
  const target = state.ids[y * width + x];
  if (target === id) return;
  const stack = [y * width + x];
  while (stack.length) {
    const p = stack.pop();
    if (state.ids[p] !== target) continue;
    state.ids[p] = id;
    const px = p % width;
    if (px > 0) stack.push(p - 1);
    if (px < width - 1) stack.push(p + 1);
    if (p >= width) stack.push(p - width);
    if (p < width * (height - 1)) stack.push(p + width);
  }
}

function loadIds(buffer) {
  const ids = new Uint8Array(buffer);
  if (ids.length !== state.info.width * state.info.height) throw new Error("the server sent a label of the wrong size");
  snapshot();
  state.ids = ids;
  render();
  labelChanged();
}

// ---- pointer input ------------------------------------------------------------------------------

function labelPoint(event) {
  const rect = $("label-canvas").getBoundingClientRect();
  const {width, height} = state.info;
  const x = Math.floor((event.clientX - rect.left) * width / rect.width);
  const y = Math.floor((event.clientY - rect.top) * height / rect.height);
  return {x: Math.min(Math.max(x, 0), width - 1), y: Math.min(Math.max(y, 0), height - 1)};
}

function tool() {
  return document.querySelector("input[name=tool]:checked").value;
}

function onPointerDown(event) {
  if (!state.ids || event.button !== 0) return;
  event.preventDefault();
  const point = labelPoint(event);
  snapshot();
  if (tool() === "fill") {
    floodFill(point.x, point.y, state.paintClass);
    render();
    strokeEnded();
    return;
  }
  $("label-canvas").setPointerCapture(event.pointerId);
  state.lastPoint = point;
  paintLine(point, point, strokeClass());
  render();
}

function onPointerMove(event) {
  if (!state.lastPoint) return;
  const point = labelPoint(event);
  paintLine(state.lastPoint, point, strokeClass());
  state.lastPoint = point;
  render();
}

function onPointerUp() {
  if (!state.lastPoint) return;
  state.lastPoint = null;
  strokeEnded();
}

function strokeClass() {
  return tool() === "eraser" ? state.eraseClass : state.paintClass;
}

function strokeEnded() {
  state.strokeEndedAt = performance.now();
  labelChanged();
}

// ---- talking to the server ----------------------------------------------------------------------

function showStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function errorText(response) {
  try {
    return (await response.json()).error;
  } catch (ignored) {
    return `the server answered ${response.status} ${response.statusText}`;
  }
}

function labelChanged() {
  clearTimeout(state.request.timer);
  state.request.timer = setTimeout(requestPicture, DEBOUNCE_MS);
}

function labelPng() {
  return LabelPng.encode(state.ids.map((id) => state.fileIds[id]), state.info.width, state.info.height);
}

function styleQuery() {
  const kind = state.info.style.kind;
  if (kind === "latent") return `?seed=${encodeURIComponent($("seed").value)}`;
  if (kind === "regions" && state.info.samples > 0) return `?styles=${state.styleSources.join(",")}`;
  return "";
}

// ---- SEAN style images ----------------------------------------------------------------------------

function setStyleSource(index, classId = null) {
  if (classId === null) state.styleSources.fill(index);
  else state.styleSources[classId] = index;
  for (const button of document.querySelectorAll("#class-list .class")) {
    const source = state.styleSources[Number(button.dataset.id)];
    button.dataset.style = source === undefined ? "" : String(source);
    button.querySelector(".style").textContent = source === undefined ? "" : `img ${source}`;
  }
}

function onStripClick(index) {
  const action = state.info.style.kind === "regions" ? $("strip-action").value : "label";
  if (action === "label") {
    if (state.info.style.kind === "regions") setStyleSource(index);
    loadSample(index);
    return;
  }
  setStyleSource(index, action === "class" ? state.paintClass : null);
  labelChanged();
}

async function requestPicture() {
  const request = state.request;
  if (request.inFlight) {
    request.again = true;
    return;
  }
  request.inFlight = true;
  request.again = false;
  const strokeEndedAt = state.strokeEndedAt;
  try {
    const png = await labelPng();
    const response = await fetch(`/api/generate${styleQuery()}`, {method: "POST", body: png, headers: PNG_HEADERS});
    if (!response.ok) {
      showStatus(await errorText(response), true);
      return;
    }
    await showPicture(await response.blob(), strokeEndedAt, Number(response.headers.get("X-Generation-Seconds")));
  } catch (error) {
    showStatus(`no picture: ${error.message}; is the editor's server still running?`, true);
  } finally {
    request.inFlight = false;
    if (request.again) requestPicture();
  }
}

async function showPicture(blob, strokeEndedAt, generationSeconds) {
  const picture = $("picture");
  if (state.pictureUrl) URL.revokeObjectURL(state.pictureUrl);
  state.pictureUrl = URL.createObjectURL(blob);
  picture.src = state.pictureUrl;
  await picture.decode();
  const latency = strokeEndedAt ? (performance.now() - strokeEndedAt) / 1000 : null;
  picture.dataset.generation = String(Number(picture.dataset.generation) + 1);
  picture.dataset.latency = latency === null ? "" : latency.toFixed(3);
  picture.dataset.generationSeconds = generationSeconds.toFixed(3);
  $("download-picture").disabled = false;
  showStatus(latency === null
    ? `picture generated in ${generationSeconds.toFixed(2)} s`
    : `new picture ${latency.toFixed(2)} s after the stroke (generation ${generationSeconds.toFixed(2)} s)`);
}

async function loadSample(index) {
  const response = await fetch(`/api/samples/${index}/ids`);
  if (!response.ok) return showStatus(await errorText(response), true);
  state.strokeEndedAt = 0;
  loadIds(await response.arrayBuffer());
}

async function openLabelFile(file) {
  const response = await fetch("/api/labels/decode", {method: "POST", body: file, headers: PNG_HEADERS});
  if (!response.ok) return showStatus(`${file.name}: ${await errorText(response)}`, true);
  state.strokeEndedAt = 0;
  loadIds(await response.arrayBuffer());
}

function download(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// ---- page set-up --------------------------------------------------------------------------------

function cssColour(colour) {
  return `rgb(${colour.join(",")})`;
}

function buildPalette(classes) {
  const list = $("class-list");
  for (const c of classes) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "class";
    button.dataset.id = c.id;
    button.dataset.name = c.name;
    button.innerHTML = `<span class="swatch"></span><span class="name"></span><span class="style"></span>` +
      `<span class="id">${c.id}</span>`;
    button.querySelector(".swatch").style.background = cssColour(c.colour);
    button.querySelector(".name").textContent = c.name;
    button.addEventListener("click", () => selectClass(c.id));
    const item = document.createElement("li");
    item.append(button);
    list.append(item);

    const option = document.createElement("option");
    option.value = c.id;
    option.textContent = `${c.id} ${c.name}`;
    $("erase-class").append(option);
  }
}

function selectClass(id) {
  state.paintClass = id;
  for (const button of document.querySelectorAll("#class-list .class")) {
    button.classList.toggle("selected", Number(button.dataset.id) === id);
  }
  if (tool() === "eraser") document.querySelector("input[name=tool][value=brush]").checked = true;
}

function buildStrip(count) {
  const strip = $("strip");
  for (let i = 0; i < count; i++) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "thumb";
    button.title = `dataset label ${i}`;
    button.innerHTML = `<img alt="dataset label ${i}" src="/api/samples/${i}/thumbnail.png">`;
    button.addEventListener("click", () => onStripClick(i));
    strip.append(button);
  }
}

function sizeDisplays(width, height) {
  const scale = DISPLAY_SIDE / Math.max(width, height);
  for (const element of [$("label-canvas"), $("picture")]) {
    element.style.width = `${width * scale}px`;
    element.style.height = `${height * scale}px`;
  }
  $("label-canvas").width = width;
  $("label-canvas").height = height;
}

function wireControls() {
  const canvas = $("label-canvas");
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", onPointerUp);
  $("brush-size").addEventListener("input", () => { $("brush-size-value").value = $("brush-size").value; });
  $("erase-class").addEventListener("change", () => { state.eraseClass = Number($("erase-class").value); });
  $("undo").addEventListener("click", () => restore(state.undo, state.redo));
  $("redo").addEventListener("click", () => restore(state.redo, state.undo));
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey)) return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) restore(state.undo, state.redo);
    else if (key === "y" || (key === "z" && event.shiftKey)) restore(state.redo, state.undo);
    else return;
    event.preventDefault();
  });
  $("blank").addEventListener("click", () => {
    snapshot();
    state.ids = new Uint8Array(state.info.width * state.info.height).fill(state.eraseClass);
    render();
    labelChanged();
  });
  $("seed").addEventListener("change", labelChanged);
  $("new-style").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * 2 ** 31));
    labelChanged();
  });
  $("download-label").addEventListener("click", async () => {
    download(await labelPng(), `${state.info.name}_label.png`);
  });
  $("download-picture").addEventListener("click", async () => {
    download(await (await fetch(state.pictureUrl)).blob(), `${state.info.name}_picture.png`);
  });
  $("open-label").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await openLabelFile(file);
  });
}

async function start() {
  const info = await (await fetch("/api/info")).json();
  state.info = info;
  state.colours = new Uint8Array(info.classes.flatMap((c) => c.colour));
  state.fileIds = new Uint8Array(256);
  info.classes.forEach((c) => { state.fileIds[c.id] = c.file_id; });
  const weights = `epoch ${info.epoch}${info.ema ? " (EMA)" : ""}`;
  $("run-description").textContent =
    `run ${info.name}, ${weights}, ${info.width}×${info.height}, ${info.classes.length} classes`;
  $("brush-size").value = $("brush-size-value").value = String(Math.max(1, Math.round(info.width / 16)));
  $("latent-style").hidden = info.style.kind !== "latent";
  $("region-style").hidden = info.style.kind !== "regions";
  buildPalette(info.classes);
  if (info.style.kind === "regions" && info.samples > 0) {
    state.styleSources = new Array(info.style.classes).fill(0);
    setStyleSource(0);
  }
  buildStrip(info.samples);
  sizeDisplays(info.width, info.height);
  wireControls();
  selectClass(info.classes.length > 1 ? 1 : 0);
  if (info.samples > 0) {
    await loadSample(0);
  } else {
    if (info.samples_note) showStatus(info.samples_note);
    $("blank").click();
  }
  state.undo = [];
}

start().catch((error) => showStatus(`the editor could not start: ${error.message}`, true));
