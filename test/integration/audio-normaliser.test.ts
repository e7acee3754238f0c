// Integration tests for lambdas/adapters/audio-normaliser.ts against the real ffmpeg binary
// (@ffmpeg-installer): every accepted format in test/fixtures really comes out as mono 16 kHz
// MPEG Layer III (checked by our frame parser and by music-metadata), a multi-minute recording
// made at test time is split at the window with the right offsets and every segment decodes on
// its own in ffmpeg, the event loop stays free while the encoder worker runs, and bad input fails
// with the documented codes, quickly.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseBuffer } from 'music-metadata';
import { afterAll, describe, expect, it } from 'vitest';
import { FfmpegAudioNormaliser } from '../../lambdas/adapters/audio-normaliser';
import { parseMp3Frames } from '../../lambdas/adapters/audio/mp3-frames';
import { PermanentJobError } from '../../lambdas/core/errors';
import { sniffMedia } from '../../lambdas/core/media-type';
import type { NormalisedAudioSegment } from '../../lambdas/core/ports';
import { FFMPEG_PATH, makeAdtsAac, makeMp3, makeWav } from '../support/audio-files';
import { watchTimerGaps } from '../support/timer-gaps';

const fixture = (name: string) => new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', name)));
const normaliser = new FfmpegAudioNormaliser({ ffmpegPath: FFMPEG_PATH, timeBudgetMs: 20_000 });
const ONE_CALL = { segmentSeconds: 600, maxDurationSeconds: 3600 };
const scratch = mkdtempSync(join(tmpdir(), 'metahook-audio-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The segment as a decoder sees it: every frame MPEG-2 Layer III, 16 kHz, mono. */
async function expectMono16kMp3(segment: NormalisedAudioSegment): Promise<number> {
  const { frames, durationSeconds } = parseMp3Frames(segment.bytes);
  expect(frames.length).toBeGreaterThan(0);
  for (const frame of frames) {
    expect({ version: frame.version, layer: frame.layer, rate: frame.sampleRate, channels: frame.channels }).toEqual({ version: 2, layer: 3, rate: 16_000, channels: 1 });
    expect(frame.bitrateKbps).toBe(segment.bitrateKbps);
  }
  // An independent reader agrees.
  const parsed = await parseBuffer(segment.bytes, { mimeType: 'audio/mpeg', size: segment.bytes.byteLength }, { duration: true });
  expect(parsed.format).toMatchObject({ container: 'MPEG', codec: 'MPEG 2 Layer 3', sampleRate: 16_000, numberOfChannels: 1 });
  expect(parsed.format.duration).toBeCloseTo(durationSeconds, 1);
  // The segment's time is that of the samples it encodes; its frames hold LAME's delay and padding
  // too: 1105 samples at the start and up to one frame at the end (< 0.11 s at 16 kHz).
  expect(segment.durationSeconds).toBeLessThanOrEqual(durationSeconds);
  expect(durationSeconds - segment.durationSeconds).toBeLessThan(0.11);
  return durationSeconds;
}

/** ffmpeg decodes the segment alone, without an error, as 16 kHz mono MP3: the seconds of PCM it gives. */
async function decodeAlone(segment: NormalisedAudioSegment): Promise<number> {
  const child = promisify(execFile)(FFMPEG_PATH, ['-hide_banner', '-v', 'info', '-xerror', '-f', 'mp3', '-i', 'pipe:0', '-f', 's16le', '-c:a', 'pcm_s16le', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 256 * 1024 * 1024,
  });
  child.child.stdin!.end(segment.bytes);
  const { stdout, stderr } = await child;
  expect(stderr.toString()).toMatch(/Audio: mp3[^,]*, 16000 Hz, mono/);
  expect(stderr.toString()).not.toMatch(/error|invalid/i);
  return stdout.byteLength / 2 / 16_000;
}

async function failure(promise: Promise<unknown>): Promise<PermanentJobError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PermanentJobError);
  return error as PermanentJobError;
}

describe('every accepted format becomes mono 16 kHz MP3', () => {
  // [fixture, sniffed format, original codec, channels, sample rate, seconds, a tag]
  const cases: [string, string, string, number, number, number, Record<string, string>][] = [
    ['tone.wav', 'wav', 'pcm_s16le', 1, 16_000, 1, { title: 'Calibration Tone' }],
    ['stereo-44k.wav', 'wav', 'pcm_s16le', 2, 44_100, 0.3, {}],
    ['tagged.mp3', 'mp3', 'mp3', 2, 44_100, 2.04, { title: 'Morning Test Signal', artist: 'Metahook Test Band', year: '2024' }],
    ['short.flac', 'flac', 'flac', 1, 22_050, 1.5, { title: 'Short Flac Sample', genre: 'Ambient' }],
    ['clip.ogg', 'ogg', 'vorbis', 2, 44_100, 1, { title: 'Vorbis Chime' }],
    ['clip.opus', 'opus', 'opus', 1, 48_000, 1, { title: 'Opus Beep' }],
    ['clip.m4a', 'm4a', 'aac', 2, 44_100, 1, { title: 'AAC Tone' }],
    ['clip.aac', 'aac', 'aac', 1, 22_050, 1, {}],
    ['clip.webm', 'webm', 'opus', 1, 48_000, 1, {}],
  ];

  it.each(cases)('%s', async (name, format, codec, channels, sampleRate, seconds, tags) => {
    const bytes = fixture(name);
    const sniffed = await sniffMedia(bytes);
    expect(sniffed).toMatchObject({ kind: 'audio', format });

    const audio = await normaliser.normalise({ bytes, format }, ONE_CALL);

    expect(audio.original).toMatchObject({ codec, channels, sample_rate: sampleRate });
    expect(audio.original.duration_seconds).toBeCloseTo(seconds, 0);
    expect(audio.original.tags).toMatchObject(tags);
    expect(audio.segments).toHaveLength(1);
    const segment = audio.segments[0]!;
    expect(segment).toMatchObject({ format: 'mp3', channels: 1, sampleRate: 16_000, startSeconds: 0 });
    const decoded = await expectMono16kMp3(segment);
    // The encoder adds at most a few 36 ms frames of delay and padding; nothing is lost.
    expect(decoded).toBeGreaterThanOrEqual(seconds - 0.05);
    expect(decoded).toBeLessThan(seconds + 0.2);
  });

  it('a 44.1 kHz stereo WAV shrinks more than 10x', async () => {
    const wav = makeWav({ seconds: 30, sampleRate: 44_100, channels: 2 });
    const audio = await normaliser.normalise({ bytes: wav, format: 'wav' }, ONE_CALL);
    const sent = audio.segments.reduce((sum, s) => sum + s.bytes.byteLength, 0);
    expect(wav.byteLength / sent).toBeGreaterThan(10);
    expect(audio.original).toMatchObject({ codec: 'pcm_s16le', channels: 2, sample_rate: 44_100, duration_seconds: 30 });
  });
});

describe('long recordings are split at the window', () => {
  it('a ~3-minute MP3 (170 s) in 60 s windows: three standalone segments with offsets that add up', async () => {
    const mp3 = await makeMp3({ seconds: 170 });
    // 17 repeated 10 s pieces, each with the encoder's padding: a little over 170 s.
    const actual = parseMp3Frames(mp3).durationSeconds;
    const audio = await normaliser.normalise({ bytes: mp3, format: 'mp3' }, { segmentSeconds: 60, maxDurationSeconds: 3600 });

    expect(audio.original.duration_seconds).toBeCloseTo(actual, 1);
    expect(audio.segments).toHaveLength(3);
    let expectedStart = 0;
    for (const segment of audio.segments) {
      expect(segment.startSeconds).toBeCloseTo(expectedStart, 2);
      expect(segment.durationSeconds).toBeLessThanOrEqual(60);
      await expectMono16kMp3(segment);
      // Each segment had its own encoder: ffmpeg reads it alone, and gets its samples plus LAME's delay and padding.
      const decoded = await decodeAlone(segment);
      expect(decoded).toBeGreaterThanOrEqual(segment.durationSeconds);
      expect(decoded - segment.durationSeconds).toBeLessThan(0.11);
      expectedStart += segment.durationSeconds;
    }
    expect(audio.segments[0]!.durationSeconds).toBeGreaterThan(59.9);
    expect(expectedStart).toBeGreaterThan(actual - 0.1);
    expect(expectedStart).toBeLessThan(actual + 0.2);
  });
});

describe('the encoder runs off the event loop', () => {
  it('a 5-minute MP3: the loop stays mostly idle and its timers fire while ffmpeg decodes and the worker encodes', async () => {
    const mp3 = await makeMp3({ seconds: 300 });
    const gaps = watchTimerGaps();
    let worstGapMs = 0;
    const started = performance.now();
    const before = performance.eventLoopUtilization();
    try {
      const audio = await normaliser.normalise({ bytes: mp3, format: 'mp3' }, ONE_CALL);
      expect(audio.original.duration_seconds).toBeGreaterThan(299);
    } finally {
      worstGapMs = gaps.stop();
    }
    const busy = performance.eventLoopUtilization(before).utilization;
    const elapsedMs = performance.now() - started;
    console.info(`normalised 300 s in ${Math.round(elapsedMs)} ms; event loop busy ${(busy * 100).toFixed(1)}%, worst timer gap ${Math.round(worstGapMs)} ms`);
    // About 0.7 s of LAME for 5 minutes: on the main thread the loop would be busy nearly all the
    // time. Utilisation counts only time this thread spends running callbacks, so it does not move
    // when other processes take the CPU; a timer gap does, hence its generous bound.
    expect(elapsedMs).toBeGreaterThan(400);
    expect(busy).toBeLessThan(0.35);
    expect(worstGapMs).toBeLessThan(250);
  });
});

describe('refusals', () => {
  it('over the maximum: file_too_long with the limit, decided from the header before ffmpeg runs', async () => {
    const wav = makeWav({ seconds: 130, sampleRate: 8_000, channels: 1 });
    // An ffmpeg that does not exist: reaching it would be a different error.
    const noFfmpeg = new FfmpegAudioNormaliser({ ffmpegPath: join(scratch, 'missing-ffmpeg') });
    const error = await failure(noFfmpeg.normalise({ bytes: wav, format: 'wav' }, { segmentSeconds: 60, maxDurationSeconds: 120 }));
    expect(error.code).toBe('file_too_long');
    expect(error.message).toContain("this deployment's limit is 120 s");
    expect(error.message).toContain('130 s');
    // A tenant's own limit is named as such (core/audio-limit.ts).
    const tenants = await failure(noFfmpeg.normalise({ bytes: wav, format: 'wav' }, { segmentSeconds: 60, maxDurationSeconds: 90, limitSetBy: 'tenant' }));
    expect(tenants.message).toContain("this tenant's limit is 90 s (1 min 30 s)");
  });

  it('over the maximum with no duration in any header (raw ADTS): decoding stops one second past the limit', async () => {
    const aac = await makeAdtsAac(20);
    expect((await parseBuffer(aac, { size: aac.byteLength })).format.duration).toBeUndefined();
    const error = await failure(normaliser.normalise({ bytes: aac, format: 'aac' }, { segmentSeconds: 60, maxDurationSeconds: 10 }));
    expect(error.code).toBe('file_too_long');
    expect(error.message).toContain('limit is 10 s');
  });

  it('a corrupt FLAC fails file_unreadable, quickly', async () => {
    const started = Date.now();
    const error = await failure(normaliser.normalise({ bytes: fixture('corrupt.flac'), format: 'flac' }, ONE_CALL));
    expect(error.code).toBe('file_unreadable');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('bytes that are not the claimed format fail file_unreadable', async () => {
    const error = await failure(normaliser.normalise({ bytes: fixture('document.pdf'), format: 'm4a' }, ONE_CALL));
    expect(error.code).toBe('file_unreadable');
  });

  it('a truncated M4A fails with a clear code', async () => {
    const error = await failure(normaliser.normalise({ bytes: fixture('clip.m4a').subarray(0, 600), format: 'm4a' }, ONE_CALL));
    expect(['file_unreadable', 'unsupported_media_type']).toContain(error.code);
  });

  it('a format it does not take is unsupported_media_type', async () => {
    const error = await failure(normaliser.normalise({ bytes: fixture('graphic.png'), format: 'png' }, ONE_CALL));
    expect(error.code).toBe('unsupported_media_type');
  });

  it('a decoder that hangs is killed at the time budget: file_unreadable, never a hang', async () => {
    const hanging = join(scratch, 'hanging-ffmpeg');
    writeFileSync(hanging, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hanging, 0o755);
    const slow = new FfmpegAudioNormaliser({ ffmpegPath: hanging, timeBudgetMs: 300 });
    const started = Date.now();
    const error = await failure(slow.normalise({ bytes: fixture('clip.ogg'), format: 'ogg' }, ONE_CALL));
    expect(error.code).toBe('file_unreadable');
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
