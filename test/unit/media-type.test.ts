// Unit tests for lambdas/core/media-type.ts: URL extension rules and byte sniffing,
// on the committed fixtures (test/fixtures/README.md) and hand-built byte sequences.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SUPPORTED_FORMATS,
  findMediaFormat,
  inferKindFromUrl,
  mediaFormat,
  sniffMedia,
} from '../../lambdas/core/media-type';

const fixture = (name: string) => new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', name)));
const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));
const u32 = (value: number) => [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];

/** ISO-BMFF box: 32-bit size, 4-char type, body. */
const box = (type: string, ...body: number[][]) => {
  const content = body.flat();
  return [...u32(8 + content.length), ...ascii(type), ...content];
};
/** An MP4-family file whose single track has the given handler ('soun' or 'vide'). */
const isoFile = (majorBrand: string, ...handlers: string[]) =>
  new Uint8Array([
    ...box('ftyp', ascii(majorBrand), u32(0x200), ascii('isom'), ascii('mp41')),
    ...box(
      'moov',
      ...handlers.map((handler) => box('trak', box('mdia', box('hdlr', u32(0), u32(0), ascii(handler), Array.from({ length: 12 }, () => 0), [0])))),
    ),
  ]);

/** EBML element with a one-byte size. */
const ebml = (id: number[], ...body: number[][]) => {
  const content = body.flat();
  return [...id, 0x80 | content.length, ...content];
};
/** A WebM file whose tracks use the given Matroska codec ids (e.g. A_OPUS, V_VP9). */
const webmFile = (...codecIds: string[]) =>
  new Uint8Array([
    ...ebml([0x1a, 0x45, 0xdf, 0xa3], ebml([0x42, 0x86], [1]), ebml([0x42, 0x82], ascii('webm')), ebml([0x42, 0x87], [2])),
    // Segment of unknown size, then Tracks > TrackEntry > CodecID.
    0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ...ebml([0x16, 0x54, 0xae, 0x6b], ...codecIds.map((codec) => ebml([0xae], ebml([0x86], ascii(codec))))),
  ]);

/** Raw ADTS AAC (no container): a few LC, 44.1 kHz, stereo frames of silence. */
const adtsFrames = (count: number) => {
  const payload = 8;
  const length = 7 + payload;
  const frame = [0xff, 0xf1, 0x50, 0x80 | ((length >> 11) & 0x3), (length >> 3) & 0xff, ((length & 7) << 5) | 0x1f, 0xfc, ...Array.from({ length: payload }, () => 0)];
  return new Uint8Array(Array.from({ length: count }, () => frame).flat());
};

/** The MPEG frames of an MP3 with its ID3v2 tag cut off. */
const withoutId3v2 = (mp3: Uint8Array) => {
  expect(String.fromCharCode(...mp3.subarray(0, 3))).toBe('ID3');
  const tagSize = (mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!; // synchsafe
  return mp3.subarray(10 + tagSize);
};

describe('SUPPORTED_FORMATS', () => {
  it('names each format once, with a mime type of its kind', () => {
    const names = SUPPORTED_FORMATS.map((entry) => entry.format);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of SUPPORTED_FORMATS) expect(entry.mime.startsWith(`${entry.kind}/`)).toBe(true);
  });

  it('gives each extension to one format only', () => {
    const extensions = SUPPORTED_FORMATS.flatMap((entry) => entry.extensions);
    expect(new Set(extensions).size).toBe(extensions.length);
  });

  it('looks formats up by short name', () => {
    expect(mediaFormat('flac')).toMatchObject({ kind: 'audio', mime: 'audio/flac' });
    expect(findMediaFormat('webp')?.kind).toBe('image');
    expect(findMediaFormat('tiff')).toBeUndefined();
  });
});

describe('inferKindFromUrl', () => {
  it.each([
    ['https://cdn.example.com/photos/beach.jpg', 'image'],
    ['https://cdn.example.com/photos/BEACH.JPEG', 'image'],
    ['https://cdn.example.com/a/b/logo.png?width=200&v=2#top', 'image'],
    ['s3://media-bucket/uploads/2024/anim.gif', 'image'],
    ['s3://media-bucket/pic.webp', 'image'],
    ['https://example.com/song.mp3', 'audio'],
    ['https://example.com/take.WAV', 'audio'],
    ['s3://bucket/podcast/episode.m4a', 'audio'],
    ['https://example.com/a.flac', 'audio'],
    ['https://example.com/a.ogg', 'audio'],
    ['https://example.com/a.opus', 'audio'],
    ['https://example.com/a.aac', 'audio'],
  ] as const)('%s -> %s', (url, kind) => {
    expect(inferKindFromUrl(url)).toBe(kind);
  });

  it.each([
    'https://example.com/report.pdf',
    'https://example.com/letter.docx',
    'https://example.com/letter.DOC',
    'https://example.com/notes.txt',
    'https://example.com/bundle.zip',
    'https://example.com/clip.mp4',
    'https://example.com/clip.MOV',
    'https://example.com/logo.svg',
    'https://example.com/iphone.heic',
    'https://example.com/scan.tiff',
    'https://example.com/old.bmp',
    'https://example.com/setup.exe',
    'https://example.com/index.html',
    's3://bucket/docs/manual.pdf',
  ])('%s -> unsupported', (url) => {
    expect(inferKindFromUrl(url)).toBe('unsupported');
  });

  it.each([
    'https://example.com/download',
    'https://example.com/media/',
    'https://example.com/file.unknownext',
    'https://example.com/recording.webm', // audio or video: the bytes decide
    'https://example.com/get?file=photo.jpg', // the extension is in the query, not the path
    's3://bucket/object-without-extension',
    'https://example.com/.jpg',
    'https://example.com/name.',
    'not a url at all',
  ])('%s -> undefined (bytes decide)', (url) => {
    expect(inferKindFromUrl(url)).toBeUndefined();
  });

  it('reads the extension of a percent-encoded or spaced key', () => {
    expect(inferKindFromUrl('s3://bucket/my%20holiday%20photo.JPG')).toBe('image');
    expect(inferKindFromUrl('s3://bucket/folder.with.dots/track.mp3')).toBe('audio');
    expect(inferKindFromUrl('s3://bucket/folder.pdf/track')).toBeUndefined();
  });
});

describe('sniffMedia on fixtures', () => {
  it.each([
    ['photo-iptc.jpg', 'image', 'jpeg', 'image/jpeg'],
    ['graphic.png', 'image', 'png', 'image/png'],
    ['animation.gif', 'image', 'gif', 'image/gif'],
    ['image.webp', 'image', 'webp', 'image/webp'],
    ['tone.wav', 'audio', 'wav', 'audio/wav'],
    ['tagged.mp3', 'audio', 'mp3', 'audio/mpeg'],
    ['short.flac', 'audio', 'flac', 'audio/flac'],
    ['clip.ogg', 'audio', 'ogg', 'audio/ogg'],
    ['clip.opus', 'audio', 'opus', 'audio/ogg; codecs=opus'],
  ] as const)('%s is %s/%s', async (name, kind, format, mime) => {
    await expect(sniffMedia(fixture(name))).resolves.toEqual({ kind, format, mime });
  });

  it('calls a PDF named .jpg a PDF', async () => {
    await expect(sniffMedia(fixture('disguised.jpg'))).resolves.toEqual({ kind: 'unsupported', mime: 'application/pdf' });
    await expect(sniffMedia(fixture('document.pdf'))).resolves.toEqual({ kind: 'unsupported', mime: 'application/pdf' });
  });

  it('calls a text file text, and unsupported', async () => {
    await expect(sniffMedia(fixture('notes.txt'))).resolves.toEqual({ kind: 'unsupported', mime: 'text/plain' });
  });
});

describe('sniffMedia edge cases', () => {
  it('rejects an empty buffer with no mime', async () => {
    await expect(sniffMedia(new Uint8Array())).resolves.toEqual({ kind: 'unsupported', mime: null });
  });

  it.each([
    ['two bytes of a JPEG', [0xff, 0xd8]],
    ['three bytes of the PNG signature', [0x89, 0x50, 0x4e]],
    ['RIFF without a form type', ascii('RIFF')],
  ])('rejects a truncated header (%s)', async (_label, bytes) => {
    const result = await sniffMedia(new Uint8Array(bytes));
    expect(result.kind).toBe('unsupported');
  });

  it('rejects binary noise with no mime', async () => {
    const noise = new Uint8Array(256).map((_, i) => (i * 37 + 11) % 256).fill(0, 0, 4);
    await expect(sniffMedia(noise)).resolves.toEqual({ kind: 'unsupported', mime: null });
  });

  it('keeps non-ASCII UTF-8 text as text', async () => {
    const text = new TextEncoder().encode('Grüße aus Köln — “quoted” 日本語\n'.repeat(200));
    await expect(sniffMedia(text)).resolves.toEqual({ kind: 'unsupported', mime: 'text/plain' });
  });

  it('finds an MP3 with no ID3 tag by its frame header', async () => {
    const bare = withoutId3v2(fixture('tagged.mp3'));
    expect(bare[0]).toBe(0xff);
    await expect(sniffMedia(bare)).resolves.toEqual({ kind: 'audio', format: 'mp3', mime: 'audio/mpeg' });
  });

  it('finds raw ADTS AAC', async () => {
    await expect(sniffMedia(adtsFrames(4))).resolves.toEqual({ kind: 'audio', format: 'aac', mime: 'audio/aac' });
  });

  it('takes an M4A brand as audio', async () => {
    await expect(sniffMedia(isoFile('M4A ', 'soun'))).resolves.toEqual({ kind: 'audio', format: 'm4a', mime: 'audio/mp4' });
  });

  it('takes a generic MP4 with only a sound track as m4a audio', async () => {
    await expect(sniffMedia(isoFile('isom', 'soun'))).resolves.toEqual({ kind: 'audio', format: 'm4a', mime: 'audio/mp4' });
  });

  it('rejects an MP4 with a video track, even beside a sound track', async () => {
    await expect(sniffMedia(isoFile('isom', 'soun', 'vide'))).resolves.toEqual({ kind: 'unsupported', mime: 'video/mp4' });
    await expect(sniffMedia(isoFile('mp42', 'vide'))).resolves.toEqual({ kind: 'unsupported', mime: 'video/mp4' });
  });

  it('rejects QuickTime and HEIC, which share the MP4 box layout', async () => {
    await expect(sniffMedia(isoFile('qt  ', 'soun'))).resolves.toEqual({ kind: 'unsupported', mime: 'video/quicktime' });
    const heic = await sniffMedia(isoFile('heic'));
    expect(heic).toEqual({ kind: 'unsupported', mime: 'image/heic' });
  });

  it('takes an audio-only WebM as webm audio', async () => {
    await expect(sniffMedia(webmFile('A_OPUS'))).resolves.toEqual({ kind: 'audio', format: 'webm', mime: 'audio/webm' });
  });

  it('rejects a WebM with a video track', async () => {
    await expect(sniffMedia(webmFile('V_VP9', 'A_OPUS'))).resolves.toEqual({ kind: 'unsupported', mime: 'video/webm' });
    await expect(sniffMedia(webmFile('A_VORBIS', 'V_VP8'))).resolves.toEqual({ kind: 'unsupported', mime: 'video/webm' });
  });

  it('rejects a WebM whose tracks cannot be found', async () => {
    await expect(sniffMedia(webmFile())).resolves.toEqual({ kind: 'unsupported', mime: 'video/webm' });
  });
});
