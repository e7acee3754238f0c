// Test support: a stand-in AudioNormaliser (lambdas/core/ports.ts) until the real one is wired.
// It does not decode anything: it reports the duration and facts it was given and emits valid
// MPEG-2 Layer III frames (mono, 16 kHz, 32 kbps), split at `segmentSeconds`, so the stub's
// normalised-format check sees what the real normaliser must produce.
import { PermanentJobError } from '../../lambdas/core/errors';
import type { AudioNormaliser, NormalisedAudioSegment, OriginalAudioFacts } from '../../lambdas/core/ports';

/** 0xFFF3: MPEG-2, Layer III, no CRC; 0x48: 32 kbps, 16 kHz; 0xC0: mono. 144 bytes, 576 samples (36 ms). */
const FRAME_HEADER = [0xff, 0xf3, 0x48, 0xc0];
const FRAME_BYTES = 144;
const FRAME_SECONDS = 576 / 16_000;

export function monoMp3Frames(seconds: number, maxFrames = 500): Uint8Array {
  const frames = Math.max(1, Math.min(maxFrames, Math.ceil(seconds / FRAME_SECONDS)));
  const out = new Uint8Array(frames * FRAME_BYTES);
  for (let f = 0; f < frames; f++) out.set(FRAME_HEADER, f * FRAME_BYTES);
  return out;
}

export interface FakeNormaliserCall {
  readonly format: string;
  readonly bytes: number;
  readonly segmentSeconds: number;
  readonly maxDurationSeconds: number;
  readonly limitSetBy?: 'tenant' | 'deployment';
}

export function fakeAudioNormaliser(original: Partial<OriginalAudioFacts> & { duration_seconds: number }): AudioNormaliser & { calls: FakeNormaliserCall[] } {
  const calls: FakeNormaliserCall[] = [];
  return {
    calls,
    async normalise(input, options) {
      calls.push({ format: input.format, bytes: input.bytes.byteLength, ...options });
      const duration = original.duration_seconds;
      if (duration > options.maxDurationSeconds) {
        throw new PermanentJobError('file_too_long', `the recording lasts ${duration} s; the limit is ${options.maxDurationSeconds} s`);
      }
      const segments: NormalisedAudioSegment[] = [];
      for (let start = 0; start < duration; start += options.segmentSeconds) {
        const length = Math.min(options.segmentSeconds, duration - start);
        segments.push({ bytes: monoMp3Frames(length), format: 'mp3', channels: 1, sampleRate: 16_000, bitrateKbps: 32, startSeconds: start, durationSeconds: length });
      }
      return {
        original: { codec: 'mp3', channels: 2, sample_rate: 44_100, tags: {}, ...original },
        segments,
      };
    },
  };
}
