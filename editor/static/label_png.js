// Label maps as 8-bit greyscale PNG files of class ids, the format of a dataset's labels/ folder.
// Written here rather than through canvas.toBlob, which only makes colour PNGs.
"use strict";

const LabelPng = (() => {
  const CRC_TABLE = new Uint32Array(256).map((_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });

  function crc32(bytes) {
    let c = 0xffffffff;
    for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  function chunk(type, data) {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  }

  async function zlib(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // ids: Uint8Array of width*height values, row by row; returns a Blob of type image/png
  async function encode(ids, width, height) {
    const header = new Uint8Array(13);
    const view = new DataView(header.buffer);
    view.setUint32(0, width);
    view.setUint32(4, height);
    header.set([8, 0, 0, 0, 0], 8); // 8 bits, greyscale, deflate, no filter, no interlace
    const rows = new Uint8Array(height * (width + 1)); // each row starts with filter type 0
    for (let y = 0; y < height; y++) rows.set(ids.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
    const signature = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const parts = [signature, chunk("IHDR", header), chunk("IDAT", await zlib(rows)), chunk("IEND", new Uint8Array(0))];
    return new Blob(parts, {type: "image/png"});
  }

  return {encode};
})();
