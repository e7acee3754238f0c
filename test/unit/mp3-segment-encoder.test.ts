// Unit tests for lambdas/adapters/audio/mp3-segment-encoder.ts with its real worker (LAME in
// WebAssembly): segments cut at exact sample counts whatever the write sizes (odd bytes split
// samples), back-pressure that pauses and resumes a writer, a worker kept for the next file after
// a clean finish, a worker given up mid-file or dead mid-file never handed to the next file, and
// a dead worker failing the file with Mp3EncoderError (retried as our fault), never hanging it.
import { describe, expect, it } from 'vitest';
import { parseMp3Frames } from '../../lambdas/adapters/audio/mp3-frames';
import { Mp3EncoderError, Mp3SegmentEncoder } from '../../lambdas/adapters/audio/mp3-segment-encoder';
import { tonePcm16k } from '../support/audio-files';

const encoderFor = (segmentSeconds: number, workerUrl?: URL) =>
  new Mp3SegmentEncoder({ sampleRate: 16_000, bitrateKbps: 32, segmentSamples: segmentSeconds * 16_000, ...(workerUrl ? { workerUrl } : {}) });

describe('Mp3SegmentEncoder', () => {
  it('cuts segments at exact sample counts, whatever sizes the PCM arrives in', async () => {
    const pcm = tonePcm16k(2.5);
    const encoder = encoderFor(1);
    try {
      // 1001-byte writes: most of them end in the middle of a sample.
      for (let at = 0; at < pcm.byteLength; at += 1001) encoder.write(pcm.subarray(at, at + 1001));
      const { segments, totalSamples } = await encoder.end();

      expect(totalSamples).toBe(40_000);
      expect(segments.map((segment) => segment.samples)).toEqual([16_000, 16_000, 8_000]);
      for (const segment of segments) {
        const { frames } = parseMp3Frames(segment.bytes);
        expect(frames.every((frame) => frame.sampleRate === 16_000 && frame.channels === 1 && frame.bitrateKbps === 32)).toBe(true);
        // Its own samples plus LAME's 1,105 of delay, rounded up to whole 576-sample frames.
        expect(frames.length).toBe(Math.ceil((segment.samples + 1_105) / 576));
      }
    } finally {
      await encoder.close();
    }
  });

  it('asks the writer to wait past 2 MiB in flight, then drains', async () => {
    const pcm = tonePcm16k(120); // 3.84 MB
    const encoder = encoderFor(600);
    let waits = 0;
    try {
      for (let at = 0; at < pcm.byteLength; at += 64 * 1024) {
        if (!encoder.write(pcm.subarray(at, at + 64 * 1024))) {
          waits += 1;
          await new Promise<void>((resolve) => encoder.once('drain', resolve));
        }
      }
      const { totalSamples } = await encoder.end();
      expect(waits).toBeGreaterThan(0);
      expect(totalSamples).toBe(120 * 16_000);
    } finally {
      await encoder.close();
    }
  });

  it('a file given up mid-way stops its worker; the next file still encodes', async () => {
    const abandoned = encoderFor(60);
    abandoned.write(tonePcm16k(5));
    await abandoned.close();

    const next = encoderFor(60);
    try {
      next.write(tonePcm16k(1));
      const { segments } = await next.end();
      expect(segments).toHaveLength(1);
      expect(segments[0]!.samples).toBe(16_000);
    } finally {
      await next.close();
    }
  });

  it('keeps a worker that finished cleanly for the next file', async () => {
    const first = encoderFor(60);
    first.write(tonePcm16k(1));
    await first.end();
    const kept = first.workerThreadId;
    await first.close(); // after a clean end: gives nothing back twice, stops nothing

    const second = encoderFor(60);
    try {
      expect(second.workerThreadId).toBe(kept);
      second.write(tonePcm16k(1));
      const { totalSamples } = await second.end();
      expect(totalSamples).toBe(16_000);
    } finally {
      await second.close();
    }
  });

  it('fails the file with Mp3EncoderError when its worker dies mid-file, and never reuses that worker', async () => {
    const dying = new URL('../fixtures/exiting-encode-worker.mjs', import.meta.url);
    const encoder = encoderFor(1, dying);
    const dead = encoder.workerThreadId;
    encoder.write(tonePcm16k(1));
    const failure = await encoder.end().catch((error: unknown) => error);
    await encoder.close();
    expect(failure).toBeInstanceOf(Mp3EncoderError);
    expect((failure as Error).message).toMatch(/exited \(code 3\)/);

    const next = encoderFor(1, dying);
    try {
      expect(next.workerThreadId).not.toBe(dead);
    } finally {
      await next.close();
    }
  });
});
