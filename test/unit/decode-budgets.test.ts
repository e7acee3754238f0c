// Decode budgets (issue 16, "Media that sinks a worker"): small variants of the bomb corpus in
// test/support/media-bombs.ts. Images over the pixel or side budget are refused from the header
// on both the local analyzer and the Bedrock path; metadata parses run in a worker that is stopped
// past its time or heap budget while the event loop keeps running; tag blocks over budget are left
// out and the audio still described. The full-size corpus and its RSS/time: `npm run bench:bombs`.
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings } from '../../lib/settings';
import { FfmpegAudioNormaliser } from '../../lambdas/adapters/audio-normaliser';
import { createBedrockProvider } from '../../lambdas/adapters/bedrock-provider';
import { fitImageWithinLimits } from '../../lambdas/adapters/image-downscaler';
import { createLocalAnalyzer } from '../../lambdas/adapters/local-analyzer';
import { describeImage } from '../../lambdas/adapters/local-analyzer/image-facts';
import { boundAudioTags } from '../../lambdas/adapters/metadata-parser/audio-tag-budget';
import { imageMetadataContainer } from '../../lambdas/adapters/metadata-parser/image-metadata-segments';
import { MetadataParser } from '../../lambdas/adapters/metadata-parser/metadata-parser';
import { PermanentJobError } from '../../lambdas/core/errors';
import { sniffMedia } from '../../lambdas/core/media-type';
import type { AudioResult, ImageResult } from '../../lambdas/core/metadata-result';
import { FFMPEG_PATH } from '../support/audio-files';
import { watchTimerGaps } from '../support/timer-gaps';
import {
  flacWithComments,
  losslessWebpHeader,
  mp3WithId3Frames,
  nestedXmp,
  pngWithXmp,
  progressiveJpegHeader,
  tallPalettePng,
} from '../support/media-bombs';

const defaults = resolveSettings().decode;
const parsers: MetadataParser[] = [];
const parserWith = (budget: Partial<typeof defaults>) => {
  const parser = new MetadataParser({ ...defaults, ...budget });
  parsers.push(parser);
  return parser;
};
afterAll(async () => Promise.all(parsers.map((parser) => parser.close())));

async function failureOf(work: Promise<unknown>): Promise<PermanentJobError> {
  const error = await work.then(
    () => new Error('expected a refusal, got a result'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PermanentJobError);
  return error as PermanentJobError;
}

async function analyse(bytes: Uint8Array, decode = defaults) {
  const sniffed = await sniffMedia(bytes);
  if (sniffed.kind === 'unsupported') throw new Error(`test input is not supported media (${sniffed.mime})`);
  return createLocalAnalyzer({ decode, parser: parserWith(decode) }).extract({ ...sniffed, bytes });
}

describe('image pixel budget, read from the header before decoding', () => {
  it('the default budget is well under sharp’s 268 MP and allows the models’ 8000 px side', () => {
    expect(defaults.maxImagePixels).toBeLessThanOrEqual(268_402_689 / 4);
    expect(defaults.maxImageSidePx).toBeGreaterThanOrEqual(8000);
  });

  it('local analyzer: a 16383x16383 progressive JPEG header is file_too_large, naming the budget', async () => {
    const failure = await failureOf(analyse(progressiveJpegHeader(16383, 16383)));
    expect(failure.code).toBe('file_too_large');
    expect(failure.message).toMatch(/16383x16383 \(268\.4 MP\).*50 MP \(METAHOOK_MAX_IMAGE_PIXELS\)/);
  });

  it('local analyzer: a 38-byte lossless WebP declaring 16383x16383 is file_too_large', async () => {
    const webp = losslessWebpHeader(16383, 16383);
    expect(webp.byteLength).toBe(38);
    expect((await failureOf(analyse(webp))).code).toBe('file_too_large');
  });

  it('local analyzer: a 1 x 100,000,000 palette PNG is refused by the pixel budget, 1 x 40,000,000 by the side budget', async () => {
    expect(((await analyse(tallPalettePng(100))).result as ImageResult).properties).toMatchObject({ width: 1, height: 100 });
    const tall = await failureOf(analyse(tallPalettePngHeader(100_000_000)));
    expect(tall.code).toBe('file_too_large');
    expect(tall.message).toMatch(/1x100000000 \(100 MP\).*METAHOOK_MAX_IMAGE_PIXELS/);
    const strip = await failureOf(analyse(tallPalettePngHeader(40_000_000)));
    expect(strip.code).toBe('file_too_large');
    expect(strip.message).toMatch(/1x40000000.*at most 32768 px per side \(METAHOOK_MAX_IMAGE_SIDE_PX\)/);
  });

  it('a configured budget applies: 2000x1500 passes at the default, fails at 1 MP, and a decodable file decodes', async () => {
    const jpeg = progressiveJpegHeader(2000, 1500);
    const fine = (await analyse(jpeg)).result as ImageResult;
    expect(fine.properties).toMatchObject({ width: 2000, height: 1500 });
    const failure = await failureOf(analyse(jpeg, { ...defaults, maxImagePixels: 1_000_000 }));
    expect(failure.code).toBe('file_too_large');
    expect(failure.message).toContain('the decode budget is 1 MP');
  });

  it('describeImage refuses from the header even when the format is not given (sharp header read)', async () => {
    const failure = await failureOf(describeImage(progressiveJpegHeader(3000, 3000), { budget: { ...defaults, maxImagePixels: 4_000_000 } }));
    expect(failure.code).toBe('file_too_large');
  });

  describe('Bedrock path', () => {
    const bedrock = mockClient(BedrockRuntimeClient);
    beforeEach(() => bedrock.reset());

    it('the downscaler refuses a 16383x16383 WebP header before decoding', async () => {
      const failure = await failureOf(fitImageWithinLimits(losslessWebpHeader(16383, 16383), 'webp'));
      expect(failure.code).toBe('file_too_large');
      expect(failure.message).toContain('METAHOOK_MAX_IMAGE_PIXELS');
    });

    it('an image within the model limits but over the budget is refused too, and no model call is made', async () => {
      const provider = createBedrockProvider(new BedrockRuntimeClient({}), {
        modelIds: { image: 'us.amazon.nova-lite-v1:0', audio: 'mistral.voxtral-small-24b-2507' },
        imageDecodeBudget: { ...defaults, maxImagePixels: 10_000_000 },
      });
      const failure = await failureOf(provider.extract({ kind: 'image', format: 'jpeg', mime: 'image/jpeg', bytes: progressiveJpegHeader(4000, 4000) }));
      expect(failure.code).toBe('file_too_large');
      expect(bedrock.commandCalls(ConverseCommand)).toHaveLength(0);
    });
  });
});

/** IHDR-only PNG (no pixel data): enough for the header check, nothing to decode. */
function tallPalettePngHeader(height: number): Uint8Array {
  const png = tallPalettePng(1);
  const copy = new Uint8Array(png);
  new DataView(copy.buffer).setUint32(20, height);
  return copy;
}

describe('metadata parser worker: time and memory budgets', () => {
  it('a parse over its time budget is terminated and reported as file_unreadable; the event loop keeps running', async () => {
    const parser = parserWith({ metadataParseTimeoutMs: 150 });
    const png = pngWithXmp(nestedXmp(6000));
    // The worker is started (and exifr loaded) before the clock of the slow parse starts.
    await describeImage(pngWithXmp(nestedXmp(1)), { format: 'png', parser });
    const gaps = watchTimerGaps();
    const failure = await failureOf(describeImage(png, { format: 'png', parser }));
    const longestGapMs = gaps.stop();
    expect(failure.code).toBe('file_unreadable');
    expect(failure.message).toMatch(/150 ms parse budget \(METAHOOK_METADATA_PARSE_TIMEOUT_MS\).*stopped/);
    // Generous for a loaded CI machine; the parse itself holds a core for far longer when on the main thread.
    expect(longestGapMs).toBeLessThan(1_000);
    // A new worker takes over: the next file parses.
    const next = await describeImage(pngWithXmp(nestedXmp(1)), { format: 'png', parser });
    expect(next.properties?.width).toBe(1);
  }, 60_000);

  it('a parse over its heap budget stops the worker, not the process: file_unreadable naming the budget', async () => {
    const parser = parserWith({ metadataParseMemoryMb: 16, metadataParseTimeoutMs: 60_000 });
    // 500,000 comments in one block; a tag budget high enough to let them through to the parser.
    const flac = flacWithComments(500_000, { filler: 'ARTIST=x' });
    const failure = await failureOf(parser.parseAudio(boundAudioTags(flac, 'flac', 64 * 1024 * 1024).bytes, { duration: true }));
    expect(failure.code).toBe('file_unreadable');
    expect(failure.message).toMatch(/16 MB parse memory budget \(METAHOOK_METADATA_PARSE_MEMORY_MB\)/);
  }, 120_000);
});

describe('tag and segment byte budgets: the block over budget is left out, the file still described', () => {
  it('an MP3 whose ID3v2 tag holds 2000 frames: the tag is skipped, the audio described', async () => {
    const mp3 = mp3WithId3Frames(2000);
    expect(boundAudioTags(mp3, 'mp3', defaults.maxAudioTagBytes).skipped).toEqual(['ID3v2 tag with more than 1024 frames']);
    const result = (await analyse(mp3)).result as AudioResult;
    expect(result.properties?.duration_seconds).toBeGreaterThan(1.9);
    expect(result.properties?.title).toBeNull();
    // A tag within budget is read as before.
    expect(((await analyse(mp3WithId3Frames(20))).result as AudioResult).properties?.title).toBe('Buried Title');
  });

  it('a FLAC with a 1.2 MB Vorbis comment block: that block is dropped, the small one before it kept', async () => {
    // ARTIST=x, so a parser that read the big block would report an artist.
    const flac = flacWithComments(100_000, { filler: 'ARTIST=x' });
    const bounded = boundAudioTags(flac, 'flac', defaults.maxAudioTagBytes);
    expect(bounded.skipped).toEqual([expect.stringMatching(/Vorbis comment block of 12000\d+ bytes over the 1048576-byte tag budget/)]);
    const result = (await analyse(flac)).result as AudioResult;
    expect(result.properties).toMatchObject({ title: 'Kept Title', artist: null, duration_seconds: 1.5 });
  });

  it('Bedrock path: the normaliser hands the bounded FLAC to music-metadata and ffmpeg; the big block is gone, the audio kept', async () => {
    const normaliser = new FfmpegAudioNormaliser({ ffmpegPath: FFMPEG_PATH, parser: parserWith({}), maxTagBytes: defaults.maxAudioTagBytes });
    const audio = await normaliser.normalise({ bytes: flacWithComments(100_000, { filler: 'ARTIST=x' }), format: 'flac' }, { segmentSeconds: 600, maxDurationSeconds: 600 });
    expect(audio.original.tags).toEqual({ title: 'Kept Title' });
    expect(audio.original.duration_seconds).toBe(1.5);
    expect(audio.segments.length).toBe(1);
  }, 60_000);

  it('the caller keeps its bytes: a Buffer (as S3 and HTTP sources give) is copied into the worker, not moved', async () => {
    const mp3 = Buffer.from(mp3WithId3Frames(3));
    const before = mp3.byteLength;
    await parserWith({}).parseAudio(mp3, { duration: false });
    expect(mp3.byteLength).toBe(before);
    expect(mp3.subarray(0, 3).toString('latin1')).toBe('ID3');
  });

  it('PNG XMP over the metadata byte budget is not handed to the parser; the image is described', async () => {
    const png = pngWithXmp(nestedXmp(30_000));
    expect(imageMetadataContainer(png, 'png', defaults.maxImageMetadataBytes).skipped).toEqual([
      expect.stringMatching(/^XMP \(iTXt\) chunk of \d+ bytes over the 1048576-byte metadata budget$/),
    ]);
    const result = (await analyse(png)).result as ImageResult;
    expect(result.properties).toMatchObject({ width: 1, height: 1, format: 'png' });
  });
});
