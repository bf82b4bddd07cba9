"""scripts/editor.py end to end: a tiny trained run served, painted in a real headless Chromium, read back."""
import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, run_script

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,800")
HAIR = 13  # CelebAMask-HQ's id of hair
SIZE = 64
# The stroke covers label rows 42..46. The generator samples the label map at 2, 4 and 8 pixels a
# side on rows 0, 32 / 0, 16, 32, 48 / multiples of 8, so the stroke first reaches it at 16 pixels a
# side; from there its convolutions carry the change about a dozen picture rows up (batch norm runs
# on its stored statistics, so nothing spreads it further): rows 0..15 must stay exactly as they were.
STROKE_ROW, STROKE_FROM, STROKE_TO = 44, 2, 61
BRUSH_SIZE = 4  # the page's default: a sixteenth of the width
FAR_ROWS = slice(0, 16)


@pytest.fixture(scope="session")
def editor_run(tmp_path_factory):
    """A CLADE run trained for three epochs on 8 synthetic 64×64 faces in the celebamaskhq layout.

    The high learning rate makes the pictures depend on the labels after a dozen steps: a stroke
    then changes nearly every pixel it covers by at least one grey level.
    """
    root = tmp_path_factory.mktemp("editor")
    made = run_script("scripts/make_demo_dataset.py", "--out", root / "demo", "--num_train", 8, "--num_test", 4,
                      "--size", SIZE)
    assert made.returncode == 0, made.stderr
    trained = run_script("train.py", "--name", "tiny", "--checkpoints_dir", root / "checkpoints", "--gpu_ids", "-1",
                         "--dataset_mode", "celebamaskhq", "--dataroot", root / "demo", "--norm_mode", "clade",
                         "--load_size", SIZE, "--crop_size", SIZE, "--ngf", 8, "--ndf", 8, "--batchSize", 2,
                         "--niter", 3, "--lr", 0.005, "--no_vgg_loss")
    assert trained.returncode == 0, trained.stderr
    return root


@pytest.fixture(scope="session")
def editor_url(editor_run):
    yield from served_editor(editor_run, "tiny", "19 classes")


def served_editor(run_root, name: str, description: str, *flags):
    """The address of ``scripts/editor.py`` serving run ``name``; stopped with Ctrl-C (SIGINT) at the end."""
    console = run_root / f"{name}_editor_stderr.txt"
    with open(console, "w") as stderr:
        server = subprocess.Popen([sys.executable, str(REPO / "scripts" / "editor.py"), "--name", name,
                                   "--checkpoints_dir", str(run_root / "checkpoints"), "--gpu_ids", "-1",
                                   "--port", "0", *map(str, flags)], cwd=REPO, stdout=subprocess.PIPE, stderr=stderr,
                                  text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    first_line = server.stdout.readline()
    assert f"editor of run {name} (epoch latest, 64×64, {description}) at http://127.0.0.1:" in first_line, \
        first_line + console.read_text()
    yield first_line.split(" at ")[1].split()[0]
    server.send_signal(signal.SIGINT)
    out = server.communicate(timeout=30)[0]
    assert server.returncode == 0, console.read_text()
    assert "served" in out and "pictures" in out and "Traceback" not in console.read_text()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium driven by Selenium, downloading into its own folder (``browser.downloads``)."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("the editor test needs Debian's chromium and chromium-driver: apt-get install -y chromium "
                    "chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


# ---- helpers ----------------------------------------------------------------------------------------

def wait_for(condition, timeout=60.0, what="the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def generation(driver) -> int:
    return int(driver.find_element("id", "picture").get_attribute("data-generation"))


def picture(driver) -> np.ndarray:
    """The picture the page shows, fetched from its own blob address inside the page."""
    encoded = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById("picture").src).then((r) => r.arrayBuffer()).then((buffer) => {
          let text = "";
          for (const b of new Uint8Array(buffer)) text += String.fromCharCode(b);
          done(btoa(text)); });""")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded)))).astype(np.int64)


def stroke(driver, row: int, first: int, last: int) -> None:
    """Drag the mouse along label row ``row`` from column ``first`` to ``last``, pressing the left button."""
    from selenium.webdriver import ActionChains

    canvas = driver.find_element("id", "label-canvas")
    scale = canvas.size["width"] / SIZE
    centre = canvas.size["width"] / 2, canvas.size["height"] / 2

    def offset(column):  # from the canvas centre to the middle of a label pixel
        return int((column + 0.5) * scale - centre[0]), int((row + 0.5) * scale - centre[1])

    actions = ActionChains(driver, duration=10).move_to_element_with_offset(canvas, *offset(first)).click_and_hold()
    for column in np.linspace(first, last, 8)[1:]:
        actions.move_to_element_with_offset(canvas, *offset(column))
    actions.release().perform()


def new_picture_after(driver, action) -> np.ndarray:
    before = generation(driver)
    action()
    wait_for(lambda: generation(driver) > before, what="a new picture")
    return picture(driver)


def download_label(driver) -> np.ndarray:
    for old in driver.downloads.iterdir():
        old.unlink()
    driver.find_element("id", "download-label").click()
    path = wait_for(lambda: next(iter(driver.downloads.glob("tiny_label.png")), None), what="the label download")
    label = Image.open(path)
    assert label.mode == "L" and label.size == (SIZE, SIZE)
    return np.asarray(label).astype(np.int64)


def post(url: str, payload: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "image/png"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def png_of(ids: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(ids.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def dataset_label(editor_url: str, index: int) -> np.ndarray:
    with urllib.request.urlopen(f"{editor_url}api/samples/{index}/ids") as answer:
        return np.frombuffer(answer.read(), dtype=np.uint8).reshape(SIZE, SIZE).astype(np.int64)


# ---- tests ------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def opened_page(browser, editor_url):
    browser.get(editor_url)
    wait_for(lambda: generation(browser) >= 1, what="the first picture")
    return browser


def test_painted_hair_stroke_changes_the_picture_locally_and_the_label_exactly(opened_page, editor_url):
    page = opened_page
    start_label = dataset_label(editor_url, 0)
    assert (download_label(page) == start_label).all()
    before = picture(page)
    page.find_element("css selector", '#class-list button[data-name="hair"]').click()
    after = new_picture_after(page, lambda: stroke(page, STROKE_ROW, STROKE_FROM, STROKE_TO))

    label = download_label(page)
    stroke_area = brush_area(STROKE_ROW, STROKE_FROM, STROKE_TO, BRUSH_SIZE)
    assert (label[stroke_area] == HAIR).all()
    assert (label[~stroke_area] == start_label[~stroke_area]).all()  # nothing painted beside the brush
    assert set(np.unique(canvas_colours(page))) <= palette_codes(editor_url)  # no blended edge colours

    repainted = stroke_area & (start_label != HAIR)
    changed = np.abs(after - before).sum(axis=2) > 0
    assert repainted.sum() > 100 and changed[repainted].mean() > 0.8
    assert (after[FAR_ROWS] == before[FAR_ROWS]).all()
    assert float(page.find_element("id", "picture").get_attribute("data-latency")) > 0

    undone = new_picture_after(page, lambda: page.find_element("id", "undo").click())
    assert (download_label(page) == start_label).all() and (undone == before).all()
    redone = new_picture_after(page, lambda: page.find_element("id", "redo").click())
    assert (download_label(page) == label).all() and (redone == after).all()


def brush_area(row: int, first: int, last: int, size: int) -> np.ndarray:
    """The pixels a straight stroke covers: discs of diameter ``size`` (dx² + dy² ≤ (size/2)²) on every column."""
    rows, columns = np.indices((SIZE, SIZE))
    area = np.zeros((SIZE, SIZE), dtype=bool)
    for column in range(first, last + 1):
        area |= (rows - row) ** 2 + (columns - column) ** 2 <= (size / 2) ** 2
    return area


def canvas_colours(driver) -> np.ndarray:
    """The canvas pixels as 0xRRGGBB codes."""
    data = driver.execute_script("""
        const canvas = document.getElementById("label-canvas");
        return Array.from(canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data);""")
    rgba = np.array(data, dtype=np.int64).reshape(-1, 4)
    assert (rgba[:, 3] == 255).all()
    return rgba[:, 0] << 16 | rgba[:, 1] << 8 | rgba[:, 2]


def palette_codes(editor_url: str) -> set:
    with urllib.request.urlopen(f"{editor_url}api/info") as answer:
        classes = json.load(answer)["classes"]
    return {r << 16 | g << 8 | b for r, g, b in (c["colour"] for c in classes)}


def test_fill_and_eraser_paint_whole_class_ids(opened_page, editor_url):
    page = opened_page
    page.find_element("id", "blank").click()
    wait_for(lambda: (download_label(page) == 0).all(), what="a blank label")
    page.find_element("css selector", '#class-list button[data-name="skin"]').click()
    page.find_element("css selector", "input[name=tool][value=fill]").click()
    new_picture_after(page, lambda: stroke(page, 10, 10, 10))
    assert (download_label(page) == 1).all()

    page.find_element("css selector", "input[name=tool][value=eraser]").click()
    page.execute_script('document.getElementById("erase-class").value = "17";'
                        'document.getElementById("erase-class").dispatchEvent(new Event("change"));')
    new_picture_after(page, lambda: stroke(page, 30, 20, 40))
    label = download_label(page)
    assert set(np.unique(label)) == {1, 17} and (label[30, 20:41] == 17).all()
    page.find_element("css selector", "input[name=tool][value=brush]").click()


def test_malformed_requests_get_a_clear_error_and_the_page_keeps_working(opened_page, editor_url, tmp_path):
    generate = f"{editor_url}api/generate"
    status, body = post(generate, b"this is not a picture")
    assert status == 415 and "not a PNG file" in json.loads(body)["error"]
    status, body = post(generate, png_of(np.zeros((32, SIZE))))
    assert status == 422 and "64×32 pixels but this run generates 64×64" in json.loads(body)["error"]
    status, body = post(generate, png_of(np.full((SIZE, SIZE), 40)))
    assert status == 422 and "class id 40 but this run has 19 classes" in json.loads(body)["error"]
    status, body = post(f"{generate}", png_of(np.full((SIZE, SIZE), HAIR)))
    assert status == 200 and body.startswith(b"\x89PNG")

    page = opened_page
    not_a_png = tmp_path / "sketch.png"
    not_a_png.write_text("hello")
    page.find_element("id", "open-label").send_keys(str(not_a_png))
    status_line = page.find_element("id", "status")
    wait_for(lambda: "not a PNG file" in status_line.text, what="the error on the page")
    assert status_line.text.startswith("sketch.png: the label is not a PNG file")
    assert "error" in status_line.get_attribute("class")

    wrong_ids = tmp_path / "ids.png"
    wrong_ids.write_bytes(png_of(np.full((SIZE, SIZE), 40)))
    page.find_element("id", "open-label").send_keys(str(wrong_ids))
    wait_for(lambda: "class id 40" in status_line.text, what="the second error on the page")

    good = tmp_path / "good.png"
    good_ids = np.zeros((SIZE, SIZE), dtype=np.int64)
    good_ids[20:40, 20:40] = HAIR
    good.write_bytes(png_of(good_ids))
    new_picture_after(page, lambda: page.find_element("id", "open-label").send_keys(str(good)))
    assert (download_label(page) == good_ids).all()
    assert "error" not in status_line.get_attribute("class") and "after the stroke" not in status_line.text


def test_concurrent_requests_queue_on_one_worker(editor_url):
    ids = np.random.default_rng(0).integers(0, 19, (SIZE, SIZE))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(f"{editor_url}api/generate", png_of(ids)), range(8)))
    assert [status for status, _ in answers] == [200] * 8
    assert len({body for _, body in answers}) == 1  # the same label gives the same picture, whatever the order


def test_busy_port_and_bad_class_names_stop_the_editor_with_one_sentence(editor_run, tmp_path):
    flags = ["--name", "tiny", "--checkpoints_dir", editor_run / "checkpoints", "--gpu_ids", "-1"]
    names = tmp_path / "names.txt"
    names.write_text("sky\ntree\n")
    wrong_names = run_script("scripts/editor.py", *flags, "--class_names", names)
    assert wrong_names.returncode == 1 and "Traceback" not in wrong_names.stderr
    assert f"--class_names file {names} has 2 names but the run has 19 classes" in wrong_names.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = run_script("scripts/editor.py", *flags, "--port", port)
    assert busy.returncode == 1 and "Traceback" not in busy.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in busy.stderr and "pass another --port" in busy.stderr


def test_palette_names_come_from_the_names_file_the_dataset_mode_or_the_ids(tmp_path):
    from argparse import Namespace

    from editor.classes import run_classes

    from util.celebamaskhq import PALETTE

    celeba = run_classes(Namespace(label_nc=19, contain_dontcare_label=False, dataset_mode="celebamaskhq"))
    # the colours of the training and test pages and of the dataset previews
    assert (celeba[HAIR].name, celeba[HAIR].colour) == ("hair", tuple(int(v) for v in PALETTE[HAIR]))
    assert len({c.colour for c in celeba}) == 19
    custom = run_classes(Namespace(label_nc=3, contain_dontcare_label=True, dataset_mode="custom"))
    assert [c.name for c in custom] == ["class 0", "class 1", "class 2", "dontcare"]
    names = tmp_path / "names.txt"
    names.write_text("sky\n\ntree\nwater\n")
    named = run_classes(Namespace(label_nc=3, contain_dontcare_label=False, dataset_mode="custom"), str(names))
    assert [c.name for c in named] == ["sky", "tree", "water"]
    assert len({c.colour for c in named}) == 3


def test_a_vae_run_draws_its_style_from_the_seed(editor_run):
    from editor.engine import GeneratorEngine, load_model
    from editor.options import EditorOptions
    from editor.rejection import RejectedRequest
    from editor.styles import style_for

    checkpoints = editor_run / "checkpoints"
    trained = run_script("train.py", "--name", "vae", "--checkpoints_dir", checkpoints, "--gpu_ids", "-1",
                         "--dataset_mode", "celebamaskhq", "--dataroot", editor_run / "demo", "--norm_mode", "clade",
                         "--use_vae", "--load_size", SIZE, "--crop_size", SIZE, "--ngf", 8, "--ndf", 8,
                         "--batchSize", 2, "--max_dataset_size", 2, "--niter", 1, "--no_vgg_loss")
    assert trained.returncode == 0, trained.stderr
    opt = EditorOptions().parse(["--name", "vae", "--checkpoints_dir", str(checkpoints), "--gpu_ids", "-1"])
    model = load_model(opt)
    engine = GeneratorEngine(opt, model, style_for(opt, model))
    assert engine.style.describe() == {"kind": "latent", "z_dim": 256}
    outputs = []  # in float: a generator trained for one step makes pictures too flat to compare in 8 bits
    engine.model.netG.register_forward_hook(lambda network, args, output: outputs.append(output))
    ids = np.random.default_rng(1).integers(0, 19, (SIZE, SIZE)).astype(np.uint8)
    for seed in ("1", "1", "2"):
        engine.submit(ids, {"seed": seed}).result()
    engine.close()
    first, again, other = outputs
    assert torch.equal(first, again) and not torch.equal(first, other)
    with pytest.raises(RejectedRequest, match="seed '-3' is not a whole number"):
        style_for(opt).generator_inputs({"seed": "-3"})


# ---- SEAN runs: a style image per region ------------------------------------------------------------

@pytest.fixture(scope="module")
def sean_run(editor_run):
    """A SEAN run (style codes of 16 values, a small generator) trained for 16 steps on the same 8 faces; the high
    learning rate makes the pictures follow the style codes by then."""
    trained = run_script("train.py", "--name", "sean", "--checkpoints_dir", editor_run / "checkpoints",
                         "--gpu_ids", "-1", "--dataset_mode", "celebamaskhq", "--dataroot", editor_run / "demo", "--norm_mode", "sean",
                         "--style_length", 16, "--load_size", SIZE, "--crop_size", SIZE, "--ngf", 8, "--ndf", 8,
                         "--batchSize", 2, "--niter", 4, "--niter_decay", 0, "--lr", 0.005, "--no_vgg_loss")
    assert trained.returncode == 0, trained.stderr
    return editor_run


@pytest.fixture(scope="module")
def sean_url(sean_run, tmp_path_factory):
    yield from served_editor(sean_run, "sean", "19 classes", "--results_dir", tmp_path_factory.mktemp("no_results"))


def sean_options(run_root, *flags):
    from editor.options import EditorOptions

    return EditorOptions().parse(["--name", "sean", "--checkpoints_dir", str(run_root / "checkpoints"), "--gpu_ids",
                                  "-1", *map(str, flags)])


def sean_reconstruction(run_root, index: int) -> np.ndarray:
    """test.py's picture of strip image ``index``: its label styled by its own photo, with the editor's noise."""
    from torch.utils.data import default_collate

    import data
    from editor.engine import NOISE_SEED, load_model
    from util.visuals import tensor_to_image

    opt = sean_options(run_root)
    model, batch = load_model(opt), default_collate([data.create_dataset(opt)[index]])
    torch.manual_seed(NOISE_SEED)
    return tensor_to_image(model.inference(batch)[0]).astype(np.int64)


def sean_styled(run_root, index: int, donor: int, classes: list[int]) -> np.ndarray:
    """Strip image ``index``'s label and style, with the style codes of ``classes`` taken from image ``donor``."""
    from torch.utils.data import default_collate

    import data
    from editor.engine import NOISE_SEED, load_model
    from util.visuals import tensor_to_image

    opt = sean_options(run_root)
    model, dataset = load_model(opt), data.create_dataset(opt)
    batch = default_collate([dataset[index]])
    with torch.no_grad():
        codes, _ = model.style_codes(batch)
        donor_codes, _ = model.style_codes(default_collate([dataset[donor]]))
        codes[:, classes] = donor_codes[:, classes]
        torch.manual_seed(NOISE_SEED)
        return tensor_to_image(model.generate_with_style_codes(batch, codes)[0]).astype(np.int64)


def test_a_sean_run_takes_each_region_s_style_from_the_chosen_strip_image(browser, sean_run, sean_url):
    browser.switch_to.new_window("tab")  # the other tests keep their page in the first tab
    try:
        browser.get(sean_url)
        wait_for(lambda: generation(browser) >= 1, what="the first SEAN picture")
        own = picture(browser)
        assert (own == sean_reconstruction(sean_run, 0)).all()
        thumbs = browser.find_elements("css selector", "#strip .thumb:not(.blank)")
        assert len(thumbs) == 4

        def strip_action(action):
            browser.execute_script(f'document.getElementById("strip-action").value = "{action}";')

        strip_action("all")
        restyled = new_picture_after(browser, lambda: thumbs[2].click())
        # exactly image 0's label with every code of image 2 (how far that moves the picture depends on the tiny run)
        assert (restyled == sean_styled(sean_run, 0, 2, list(range(19)))).all() and (restyled != own).any()
        assert {b.get_attribute("data-style") for b in browser.find_elements("css selector", "#class-list .class")} \
            == {"2"}
        assert (new_picture_after(browser, lambda: thumbs[0].click()) == own).all()

        browser.find_element("css selector", '#class-list button[data-name="hair"]').click()
        strip_action("class")
        hair_styled = new_picture_after(browser, lambda: thumbs[2].click())
        label = dataset_label(sean_url, 0)
        sources = [2 if j == HAIR else 0 for j in range(19)]
        status, body = post(f"{sean_url}api/generate?styles={','.join(map(str, sources))}", png_of(label))
        assert status == 200 and (np.asarray(Image.open(io.BytesIO(body))) == hair_styled).all()
        # exactly image 0 with image 2's hair code (how far that moves the pictures depends on the tiny run)
        assert (hair_styled == sean_styled(sean_run, 0, 2, [HAIR])).all() and (hair_styled != own).any()
    finally:
        browser.close()
        browser.switch_to.window(browser.window_handles[0])


def test_sean_styles_naming_no_strip_image_are_refused(sean_url):
    label = png_of(dataset_label(sean_url, 0))
    for styles in ("0,1", ",".join(["4"] * 19), ",".join(["x"] * 19)):
        status, body = post(f"{sean_url}api/generate?styles={styles}", label)
        assert status == 422, styles
        assert "is not 19 comma-separated image numbers from 0 to 3" in json.loads(body)["error"]


def test_saved_style_codes_come_before_the_encoder_and_mean_codes_fill_missing_classes(sean_run, tmp_path):
    from pathlib import Path

    from editor.engine import load_model
    from editor.sample_styles import SampleStyleCodes
    from editor.samples import DatasetLabels
    from util.style_codes import save_image_codes, write_mean_codes

    opt = sean_options(sean_run, "--results_dir", tmp_path)
    model = load_model(opt)
    samples = DatasetLabels(opt, (SIZE, SIZE), np.zeros((19, 3), dtype=np.uint8))
    codes, present = model.style_codes(samples.batch(2))
    codes, present = codes[0], present[0]
    assert (~present).any()  # the demo faces lack some classes (hats, earrings)
    results = tmp_path / "sean" / "test_latest"
    save_image_codes(results, Path(samples.sample(1)["path"]).name, codes + 1, torch.ones(19, dtype=torch.bool))
    styles = SampleStyleCodes(opt, model, samples, 19)
    assert torch.equal(styles.combined([1] * 19), codes + 1)  # read, not encoded from image 1's photo
    assert torch.equal(styles.combined([2] * 19)[present], codes[present])  # no saved codes: encoded
    assert (styles.combined([2] * 19)[~present] == 0).all()

    write_mean_codes(results)  # the means of the saved codes: image 1's, for every class
    with_means = SampleStyleCodes(opt, model, samples, 19).combined([2] * 19)
    assert torch.equal(with_means, torch.where(present[:, None], codes, codes + 1))
