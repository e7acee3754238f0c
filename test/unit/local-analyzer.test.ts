// Unit tests for lambdas/adapters/local-analyzer.ts: the facts it reads from each committed fixture
// (listed in test/fixtures/README.md), schema validity, determinism, and failures on bad bytes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { LOCAL_ANALYZER_MODEL, createLocalAnalyzer } from '../../lambdas/adapters/local-analyzer';
import { colourName, summariseColours } from '../../lambdas/adapters/local-analyzer/colour-names';
import { exifDateTime } from '../../lambdas/adapters/local-analyzer/image-facts';
import { repairUtf8ReadAsLatin1 } from '../../lambdas/adapters/local-analyzer/text';
import { PermanentJobError } from '../../lambdas/core/errors';
import { sniffMedia } from '../../lambdas/core/media-type';
import { audioResultSchema, imageResultSchema, type AudioResult, type ImageResult } from '../../lambdas/core/metadata-result';
import type { ExtractionInput, ExtractionOutput } from '../../lambdas/core/ports';

const fixture = (name: string) => new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', name)));
const analyzer = createLocalAnalyzer();

/** Sniffs like the extractor does, then analyses. */
async function analyse(bytes: Uint8Array): Promise<ExtractionOutput> {
  const sniffed = await sniffMedia(bytes);
  if (sniffed.kind === 'unsupported') throw new Error(`test input is not supported media (${sniffed.mime})`);
  return analyzer.extract({ ...sniffed, bytes });
}
const analyseImage = async (bytes: Uint8Array) => (await analyse(bytes)).result as ImageResult;
const analyseAudio = async (bytes: Uint8Array) => (await analyse(bytes)).result as AudioResult;

/** Sentences end in . ! or ? followed by a space or the end; "2.04-second" is not a sentence end. */
const sentenceCount = (text: string) => text.split(/[.!?](?:\s+|$)/).filter((part) => part.trim().length > 0).length;

/** 16-bit PCM WAV with no tags. */
function untaggedWav(seconds: number, channels: number, sampleRate = 8000): Uint8Array {
  const data = Buffer.alloc(Math.round(seconds * sampleRate) * channels * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return new Uint8Array(Buffer.concat([header, data]));
}

async function expectUnsupported(input: ExtractionInput): Promise<void> {
  const failure = await analyzer.extract(input).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(PermanentJobError);
  expect((failure as PermanentJobError).code).toBe('unsupported_media_type');
}

const ALL_FIXTURES = [
  'photo-iptc.jpg', 'graphic.png', 'animation.gif', 'image.webp',
  'tone.wav', 'tagged.mp3', 'short.flac', 'clip.ogg', 'clip.opus',
];

describe('local analyzer on images', () => {
  it('reads size, EXIF, IPTC and XMP from photo-iptc.jpg', async () => {
    const result = await analyseImage(fixture('photo-iptc.jpg'));

    expect(result.properties).toMatchObject({
      width: 320,
      height: 240,
      format: 'jpeg',
      orientation: 'landscape',
      has_alpha: false,
      animated: false,
      camera: 'Canon EOS 5D Mark IV',
      taken_at: '2024-05-17T14:30:00',
      title: 'Hill at Noon',
    });
    expect(result.caption).toBe('Sun over a green hill under a clear blue sky');
    // Embedded keywords come first, normalised (lower case; UTF-8 IPTC text decoded as UTF-8).
    expect(result.keywords.slice(0, 4)).toEqual(['sunny day', 'hill', 'landscape', 'été']);
    expect(result.keywords).toEqual(expect.arrayContaining(['jpeg', 'blue', 'green', 'canon']));
    expect(result.description).toContain('320x240');
    expect(result.description).toContain('Canon EOS 5D Mark IV');
    expect(result.description).toContain('2024-05-17');
    expect(result.description).toContain('Hill at Noon');
    // The sky (blue) covers more of the picture than the hill (green).
    expect(result.properties?.dominant_color_names).toEqual(['blue', 'green']);
  });

  it('ignores transparent pixels and reports alpha for graphic.png', async () => {
    const result = await analyseImage(fixture('graphic.png'));

    expect(result.properties).toMatchObject({ width: 64, height: 64, format: 'png', orientation: 'square', has_alpha: true });
    expect(result.properties?.dominant_color_names).toEqual(['red']);
    expect(result.properties?.dominant_colors).toEqual(['#d62828']);
    expect(result.keywords).toEqual(expect.arrayContaining(['transparent', 'red', 'png', 'square']));
    expect(result.properties).toMatchObject({ camera: null, taken_at: null, title: null });
    // No embedded caption: one is generated from the facts.
    expect(result.caption).toMatch(/PNG image, mostly red/);
  });

  it('counts the frames of animation.gif and reads colours from the first', async () => {
    const result = await analyseImage(fixture('animation.gif'));

    expect(result.properties).toMatchObject({ width: 48, height: 32, format: 'gif', animated: true, frame_count: 2 });
    expect(result.properties?.dominant_color_names).toEqual(['blue']);
    expect(result.keywords).toEqual(expect.arrayContaining(['animated', 'gif', 'landscape']));
    expect(result.description).toContain('2 frames');
  });

  it('reads image.webp as a portrait, two-thirds teal, one-third off-white', async () => {
    const result = await analyseImage(fixture('image.webp'));

    expect(result.properties).toMatchObject({ width: 64, height: 96, format: 'webp', orientation: 'portrait' });
    expect(result.properties?.dominant_color_names).toEqual(['teal', 'white']);
  });

  it('reports the displayed size of a JPEG with EXIF orientation 6 (rotated a quarter)', async () => {
    const stored = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#808080' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();

    const result = await analyseImage(new Uint8Array(stored));

    expect(result.properties).toMatchObject({ width: 20, height: 40, orientation: 'portrait', monochrome: true });
    expect(result.keywords).toContain('black and white');
  });

  it('describes a fully transparent PNG without inventing colours', async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();

    const result = await analyseImage(new Uint8Array(png));

    expect(result.properties?.dominant_colors).toEqual([]);
    expect(result.description).toContain('fully transparent');
  });

  it('keeps an over-long embedded XMP description within the schema limits', async () => {
    const longText = 'A very long embedded description. '.repeat(120);
    const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <dc:description><rdf:Alt><rdf:li xml:lang="x-default">${longText}</rdf:li></rdf:Alt></dc:description>
      <dc:subject><rdf:Bag><rdf:li>xmp keyword</rdf:li></rdf:Bag></dc:subject>
      </rdf:Description></rdf:RDF></x:xmpmeta>`;
    const jpeg = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#ffcc00' } }).jpeg().withXmp(xmp).toBuffer();

    const result = await analyseImage(new Uint8Array(jpeg));

    expect(result.caption.startsWith('A very long embedded description.')).toBe(true);
    expect(result.caption.length).toBeLessThanOrEqual(300);
    expect(result.description.length).toBeLessThanOrEqual(2000);
    expect(result.keywords[0]).toBe('xmp keyword');
    expect(imageResultSchema.safeParse(result).success).toBe(true);
  });
});

describe('local analyzer on audio', () => {
  it('reads tone.wav: 1 s mono 16-bit PCM with a LIST/INFO title', async () => {
    const result = await analyseAudio(fixture('tone.wav'));

    expect(result.properties?.duration_seconds).toBeCloseTo(1, 2);
    expect(result.properties).toMatchObject({
      format: 'wav',
      channels: 1,
      channel_layout: 'mono',
      sample_rate_hz: 16000,
      bits_per_sample: 16,
      lossless: true,
      title: 'Calibration Tone',
      artist: 'Metahook Fixtures',
    });
    expect(result.keywords).toEqual(expect.arrayContaining(['mono', 'pcm', 'wav', 'under 30 seconds']));
    expect(result.summary).toContain('Calibration Tone');
    expect(sentenceCount(result.summary)).toBe(1);
  });

  it('reads tagged.mp3: ~2 s stereo with ID3v2 title, artist, album, genre and year', async () => {
    const result = await analyseAudio(fixture('tagged.mp3'));

    // LAME adds encoder delay and padding, so the stream is a little longer than the 2 s synthesised.
    expect(result.properties?.duration_seconds).toBeGreaterThanOrEqual(1.95);
    expect(result.properties?.duration_seconds).toBeLessThanOrEqual(2.1);
    expect(result.properties).toMatchObject({
      format: 'mp3',
      channels: 2,
      channel_layout: 'stereo',
      sample_rate_hz: 44100,
      bitrate_kbps: 64,
      title: 'Morning Test Signal',
      artist: 'Metahook Test Band',
      album: 'Fixture Sessions',
      genre: 'Electronic',
      year: 2024,
    });
    expect(result.keywords).toEqual(expect.arrayContaining(['electronic', 'metahook test band', 'mp3', 'stereo']));
    expect(result.description).toContain('Fixture Sessions');
    expect(result.summary).toMatch(/^"Morning Test Signal" by Metahook Test Band, /);
    expect(sentenceCount(result.summary)).toBe(1);
  });

  it.each([
    ['short.flac', 1.5, 1, 22050, 'Short Flac Sample', ['ambient', 'flac', 'lossless', 'mono']],
    ['clip.ogg', 1, 2, 44100, 'Vorbis Chime', ['classical', 'vorbis', 'ogg', 'stereo']],
    ['clip.opus', 1, 1, 48000, 'Opus Beep', ['opus', 'mono']],
  ] as const)('reads %s', async (name, seconds, channels, sampleRate, title, keywords) => {
    const result = await analyseAudio(fixture(name));

    expect(result.properties?.duration_seconds).toBeCloseTo(seconds, 1);
    expect(result.properties).toMatchObject({ channels, sample_rate_hz: sampleRate, title });
    expect(result.keywords).toEqual(expect.arrayContaining([...keywords]));
  });

  it('invents no tags for an untagged file and names a multichannel layout', async () => {
    const result = await analyseAudio(untaggedWav(0.5, 6));

    expect(result.properties).toMatchObject({ channels: 6, channel_layout: '6-channel', title: null, artist: null, album: null, genre: null, year: null });
    expect(result.properties?.duration_seconds).toBeCloseTo(0.5, 2);
    expect(result.summary).toBe('A 0.5-second 6-channel WAV recording.');
    expect(result.keywords).toContain('multichannel');
  });
});

describe('local analyzer contract', () => {
  it.each(ALL_FIXTURES)('%s: valid result, local model label, no usage', async (name) => {
    const output = await analyse(fixture(name));

    const schema = name.match(/\.(jpg|png|gif|webp)$/) ? imageResultSchema : audioResultSchema;
    expect(schema.safeParse(output.result).success).toBe(true);
    expect(output.model).toEqual({ provider: 'local', id: 'metahook-local-analyzer/1' });
    expect(output.model).toEqual(LOCAL_ANALYZER_MODEL);
    expect(output).not.toHaveProperty('usage');
    expect(output.result.keywords.length).toBeGreaterThan(0);
  });

  it.each(ALL_FIXTURES)('%s: same bytes, same output, even from a new analyzer', async (name) => {
    const bytes = fixture(name);
    const first = await analyse(bytes);
    const sniffed = await sniffMedia(bytes);
    if (sniffed.kind === 'unsupported') throw new Error('fixture must be supported');
    const second = await createLocalAnalyzer().extract({ ...sniffed, bytes: fixture(name) });

    expect(second).toEqual(first);
  });
});

describe('local analyzer failures', () => {
  it('fails a truncated JPEG as unsupported_media_type', async () => {
    await expectUnsupported({ kind: 'image', format: 'jpeg', mime: 'image/jpeg', bytes: fixture('photo-iptc.jpg').subarray(0, 1200) });
  });

  it('fails a JPEG header followed by garbage', async () => {
    const garbage = new Uint8Array(2048).fill(0x41);
    garbage.set([0xff, 0xd8, 0xff, 0xe0]);
    await expectUnsupported({ kind: 'image', format: 'jpeg', mime: 'image/jpeg', bytes: garbage });
  });

  it('fails text or a PDF handed over as an image', async () => {
    await expectUnsupported({ kind: 'image', format: 'png', mime: 'image/png', bytes: fixture('notes.txt') });
    await expectUnsupported({ kind: 'image', format: 'jpeg', mime: 'image/jpeg', bytes: fixture('disguised.jpg') });
  });

  it('fails bytes that are not audio, or audio with no frames behind its header', async () => {
    await expectUnsupported({ kind: 'audio', format: 'mp3', mime: 'audio/mpeg', bytes: fixture('document.pdf') });
    await expectUnsupported({ kind: 'audio', format: 'wav', mime: 'audio/wav', bytes: fixture('tone.wav').subarray(0, 40) });
    const strayFrameHeader = new Uint8Array(3000).fill(0x13);
    strayFrameHeader.set([0xff, 0xfb, 0x90, 0x00]);
    await expectUnsupported({ kind: 'audio', format: 'mp3', mime: 'audio/mpeg', bytes: strayFrameHeader });
  });
});

describe('local analyzer helpers', () => {
  it.each([
    [[255, 0, 0], 'red'],
    [[0, 0, 255], 'blue'],
    [[0, 160, 0], 'green'],
    [[255, 165, 0], 'orange'],
    [[139, 69, 19], 'brown'],
    [[255, 255, 0], 'yellow'],
    [[255, 192, 203], 'pink'],
    [[128, 0, 128], 'purple'],
    [[102, 51, 204], 'purple'],
    [[255, 0, 255], 'magenta'],
    [[0, 128, 128], 'teal'],
    [[255, 255, 255], 'white'],
    [[10, 10, 10], 'black'],
    [[128, 128, 128], 'gray'],
  ] as const)('names rgb%j %s', ([r, g, b], name) => {
    expect(colourName(r, g, b)).toBe(name);
  });

  it('orders colours by share, drops small ones and skips translucent pixels', () => {
    const pixel = (r: number, g: number, b: number, a = 255) => [r, g, b, a];
    const rgba = new Uint8Array([
      ...Array.from({ length: 60 }, () => pixel(0, 0, 255)).flat(),
      ...Array.from({ length: 35 }, () => pixel(255, 0, 0)).flat(),
      ...Array.from({ length: 5 }, () => pixel(0, 255, 0)).flat(), // 5%: detail, not dominant
      ...Array.from({ length: 100 }, () => pixel(255, 255, 0, 0)).flat(), // transparent: ignored
    ]);

    const summary = summariseColours(rgba);

    expect(summary.dominant).toEqual([
      { name: 'blue', hex: '#0000ff', share: 0.6 },
      { name: 'red', hex: '#ff0000', share: 0.35 },
    ]);
    expect(summary.monochrome).toBe(false);
  });

  it('turns EXIF date strings into ISO local times', () => {
    expect(exifDateTime('2024:05:17 14:30:00', undefined)).toBe('2024-05-17T14:30:00');
    expect(exifDateTime('2024:05:17 14:30:00', '+02:00')).toBe('2024-05-17T14:30:00+02:00');
    expect(exifDateTime('0000:00:00 00:00:00', undefined)).toBeUndefined();
    expect(exifDateTime('    ', undefined)).toBeUndefined();
    expect(exifDateTime(1715956200, undefined)).toBeUndefined();
  });

  it('re-decodes UTF-8 read as Latin-1 and leaves real Latin-1 alone', () => {
    expect(repairUtf8ReadAsLatin1('cafÃ©')).toBe('café');
    expect(repairUtf8ReadAsLatin1('café')).toBe('café');
    expect(repairUtf8ReadAsLatin1('plain')).toBe('plain');
  });
});
