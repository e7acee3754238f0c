// Hostile media made at test time (never committed): small files whose headers or tag blocks
// promise far more work than their size, as the issue-16 red team sent them. Each generator takes
// its size so `npm test` uses small variants and `npm run bench:bombs` the full-size corpus.
// Audio generators reuse the frames of the committed fixtures, so the audio behind the tags is real.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

// ---------- images ----------

/**
 * A progressive JPEG (SOF2) declaring width x height, with one DC scan of a few bytes. libjpeg
 * allocates the whole coefficient buffer for a progressive image before it reads the scans, and a
 * truncated scan is only a warning: the declared size is what a decode costs.
 */
export function progressiveJpegHeader(width: number, height: number): Uint8Array {
  const segment = (marker: number, body: number[]) => [0xff, marker, ((body.length + 2) >> 8) & 0xff, (body.length + 2) & 0xff, ...body];
  const quant = [0x00, ...Array.from({ length: 64 }, () => 1)];
  const frame = [8, (height >> 8) & 0xff, height & 0xff, (width >> 8) & 0xff, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0];
  // A DC table with one 1-bit code for category 0 (difference 0): every block decodes as flat grey.
  const dcTable = [0x00, 1, ...Array.from({ length: 15 }, () => 0), 0];
  const scan = [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 0, 0x00];
  return Uint8Array.from([
    0xff, 0xd8,
    ...segment(0xdb, quant),
    ...segment(0xc2, frame),
    ...segment(0xc4, dcTable),
    ...segment(0xda, scan),
    ...Array.from({ length: 64 }, () => 0x00),
    0xff, 0xd9,
  ]);
}

/** A lossless WebP (VP8L) header declaring width x height (at most 16384 each), 38 bytes in all. */
export function losslessWebpHeader(width: number, height: number): Uint8Array {
  const out = Buffer.alloc(38);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(30, 4);
  out.write('WEBPVP8L', 8, 'latin1');
  out.writeUInt32LE(18, 16);
  out[20] = 0x2f;
  // 14 bits width-1, 14 bits height-1, 1 bit alpha, 3 bits version (0), little-endian bit order.
  const bits = ((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14);
  out.writeUInt32LE(bits >>> 0, 21);
  return new Uint8Array(out);
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number, colourType: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8;
  data[9] = colourType;
  return pngChunk('IHDR', data);
}

/**
 * A valid 1-pixel-wide palette PNG `height` rows tall: every row is filter 0 + index 0, so 100
 * million rows deflate to ~200 KB while a decoder walks each row.
 */
export function tallPalettePng(height: number): Uint8Array {
  const rows = Buffer.alloc(height * 2);
  return new Uint8Array(
    Buffer.concat([
      PNG_SIGNATURE,
      ihdr(1, height, 3),
      pngChunk('PLTE', Uint8Array.of(0x20, 0x60, 0xa0)),
      pngChunk('IDAT', deflateSync(rows, { level: 9 })),
      pngChunk('IEND', new Uint8Array()),
    ]),
  );
}

/** XMP whose dc:subject nests `depth` rdf:Description elements, each with an attribute. */
export function nestedXmp(depth: number): string {
  const open = '<rdf:Description rdf:about="" xmp:n="1">'.repeat(depth);
  const close = '</rdf:Description>'.repeat(depth);
  return (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">' +
    `<dc:subject>${open}x${close}</dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>`
  );
}

/** A valid 1x1 grey PNG carrying `xmp` in an uncompressed iTXt chunk (where XMP lives in PNG). */
export function pngWithXmp(xmp: string): Uint8Array {
  const itxt = Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.from(xmp, 'utf8')]);
  return new Uint8Array(
    Buffer.concat([
      PNG_SIGNATURE,
      ihdr(1, 1, 0),
      pngChunk('iTXt', itxt),
      pngChunk('IDAT', deflateSync(Uint8Array.of(0, 0x80))),
      pngChunk('IEND', new Uint8Array()),
    ]),
  );
}

// ---------- audio ----------

const synchsafe = (size: number) => [(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f];

/** The MP3 frames of test/fixtures/tagged.mp3, without its ID3v2 tag. */
export function fixtureMp3Frames(): Buffer {
  const file = readFileSync(join(FIXTURES, 'tagged.mp3'));
  const tagSize = (file[6]! << 21) | (file[7]! << 14) | (file[8]! << 7) | file[9]!;
  return file.subarray(10 + tagSize);
}

function id3Frame(id: string, text: string): Buffer {
  const body = Buffer.concat([Buffer.from([0x03]), Buffer.from(text, 'utf8')]);
  const head = Buffer.alloc(10);
  head.write(id, 0, 'latin1');
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/**
 * An MP3 whose ID3v2.3 tag holds a title then `frames` tiny TXXX frames (about 16 bytes each:
 * 2.6 million make the red team's 42 MB), followed by real MP3 audio.
 */
export function mp3WithId3Frames(frames: number, title = 'Buried Title'): Uint8Array {
  const filler = id3Frame('TXXX', '\0k\0v');
  const body = Buffer.concat([id3Frame('TIT2', title), Buffer.alloc(filler.length * frames)]);
  for (let i = 0; i < frames; i++) filler.copy(body, body.length - filler.length * (frames - i));
  const header = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, ...synchsafe(body.length)]);
  return new Uint8Array(Buffer.concat([header, body, fixtureMp3Frames()]));
}

interface FlacParts {
  readonly streamInfo: Buffer;
  readonly audio: Buffer;
}

/** STREAMINFO (with its 4-byte block header) and the audio frames of test/fixtures/short.flac. */
function fixtureFlacParts(): FlacParts {
  const file = readFileSync(join(FIXTURES, 'short.flac'));
  let offset = 4;
  let streamInfo: Buffer | undefined;
  for (let last = false; !last; ) {
    last = (file[offset]! & 0x80) !== 0;
    const length = file.readUIntBE(offset + 1, 3);
    if ((file[offset]! & 0x7f) === 0) streamInfo = file.subarray(offset, offset + 4 + length);
    offset += 4 + length;
  }
  return { streamInfo: streamInfo!, audio: file.subarray(offset) };
}

function vorbisCommentBlock(comments: readonly string[] | { readonly count: number; readonly comment: string }, last: boolean): Buffer {
  const vendor = Buffer.from('metahook-bombs', 'utf8');
  const list = Array.isArray(comments) ? comments : undefined;
  const count = list ? list.length : (comments as { count: number }).count;
  const repeated = list ? undefined : Buffer.from((comments as { comment: string }).comment, 'utf8');
  const bodyLength = 4 + vendor.length + 4 + (list ? list.reduce((sum, c) => sum + 4 + Buffer.byteLength(c), 0) : count * (4 + repeated!.length));
  const block = Buffer.alloc(4 + bodyLength);
  block[0] = (last ? 0x80 : 0) | 4;
  block.writeUIntBE(bodyLength, 1, 3);
  let at = 4;
  block.writeUInt32LE(vendor.length, at);
  vendor.copy(block, at + 4);
  at += 4 + vendor.length;
  block.writeUInt32LE(count, at);
  at += 4;
  for (let i = 0; i < count; i++) {
    const comment = list ? Buffer.from(list[i]!, 'utf8') : repeated!;
    block.writeUInt32LE(comment.length, at);
    comment.copy(block, at + 4);
    at += 4 + comment.length;
  }
  return block;
}

/**
 * A FLAC with a small comment block (TITLE) and then `comments` copies of `filler` split over as
 * many full blocks (24-bit length, 16 MiB) as they need: 6.9 million of "A=x" make the red team's
 * 48 MB. Real audio follows.
 */
export function flacWithComments(comments: number, options: { readonly title?: string; readonly filler?: string } = {}): Uint8Array {
  const filler = options.filler ?? 'A=x';
  const perBlock = Math.floor((0xffffff - 64) / (4 + Buffer.byteLength(filler)));
  const { streamInfo, audio } = fixtureFlacParts();
  const blocks: Buffer[] = [Buffer.from(streamInfo), vorbisCommentBlock([`TITLE=${options.title ?? 'Kept Title'}`], comments === 0)];
  blocks[0]![0] = 0;
  for (let left = comments; left > 0; left -= perBlock) {
    blocks.push(vorbisCommentBlock({ count: Math.min(left, perBlock), comment: filler }, left <= perBlock));
  }
  return new Uint8Array(Buffer.concat([Buffer.from('fLaC', 'latin1'), ...blocks, audio]));
}
