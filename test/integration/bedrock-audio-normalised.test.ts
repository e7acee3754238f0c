// Integration (issue 12's "done when"): a 50 MB 44.1 kHz stereo WAV and a 30-minute MP3, made
// at test time, go through the provider the extractor builds (createMetadataProvider: the real
// ffmpeg normaliser, the real BedrockRuntimeClient) to the local Bedrock Runtime stub, which
// refuses Voxtral audio that is not mono 16 kHz MP3 (test/support/converse-stub.ts).
// The 30-minute case runs with METAHOOK_LONG_AUDIO_TESTS=1 (npm run test:audio-long).
import { describe, expect, it } from 'vitest';
import { DEFAULT_BEDROCK_MODEL_IDS } from '../../lib/settings';
import { parseMp3Frames } from '../../lambdas/adapters/audio/mp3-frames';
import { createMetadataProvider } from '../../lambdas/adapters/model-provider';
import { PermanentJobError } from '../../lambdas/core/errors';
import type { ExtractionInput } from '../../lambdas/core/ports';
import { makeMp3, makeWav } from '../support/audio-files';
import { useConverseStub } from '../support/converse-stub-session';

const converse = useConverseStub();

async function extractorProvider(extraEnv: Record<string, string> = {}) {
  await converse.start();
  return createMetadataProvider(converse.env({ METAHOOK_MODEL_PROVIDER: 'bedrock', ...extraEnv }), { bedrockClient: converse.client() });
}

/** The audio the stub received, decoded from the request body (InvokeModel input_audio or Converse audio block). */
function sentAudio(index: number): Buffer {
  const body = converse.requests[index]!.body as unknown as { messages: Array<{ content: any[] }> };
  for (const message of body.messages) {
    for (const part of message.content) {
      if (part?.input_audio?.data) return Buffer.from(part.input_audio.data, 'base64');
      if (part?.audio?.source?.bytes) return Buffer.from(part.audio.source.bytes, 'base64');
    }
  }
  throw new Error('no audio in the request');
}

describe(`${DEFAULT_BEDROCK_MODEL_IDS.audio} through the normaliser, against the stub`, () => {
  it('a 50 MB 44.1 kHz stereo WAV: one call with ~1 MB of mono 16 kHz MP3, original facts kept', async () => {
    const provider = await extractorProvider();
    const wav = makeWav({ seconds: 284, sampleRate: 44_100, channels: 2 });
    expect(wav.byteLength).toBeGreaterThan(50_000_000);
    const input: ExtractionInput = { kind: 'audio', format: 'wav', mime: 'audio/wav', bytes: wav };

    const output = await provider.extract(input);

    expect(converse.requests).toHaveLength(1);
    const sent = sentAudio(0);
    const { frames, durationSeconds } = parseMp3Frames(sent);
    expect(frames.every((f) => f.channels === 1 && f.sampleRate === 16_000)).toBe(true);
    expect(durationSeconds).toBeCloseTo(284, 0);
    expect(wav.byteLength / sent.byteLength).toBeGreaterThan(10);
    expect(output.result.properties).toMatchObject({ format: 'wav', codec: 'pcm_s16le', channels: 2, sample_rate: 44_100, duration_seconds: 284, segments: 1 });
    expect(output.usage?.audio_seconds).toBeCloseTo(284, 0);
  });

  // ~12 s of ffmpeg on 2 busy cores: kept out of `npm test`, run by `npm run test:audio-long`.
  it.runIf(process.env.METAHOOK_LONG_AUDIO_TESTS === '1')('a 30-minute MP3 fits Voxtral\'s 40-minute window: one call, 30 minutes of mono 16 kHz audio', async () => {
    const provider = await extractorProvider();
    const mp3 = await makeMp3({ seconds: 1800 });

    const output = await provider.extract({ kind: 'audio', format: 'mp3', mime: 'audio/mpeg', bytes: mp3 });

    expect(converse.requests).toHaveLength(1);
    const { frames, durationSeconds } = parseMp3Frames(sentAudio(0));
    expect(frames.every((f) => f.channels === 1 && f.sampleRate === 16_000)).toBe(true);
    expect(durationSeconds).toBeGreaterThan(1799);
    expect(output.result.properties).toMatchObject({ format: 'mp3', codec: 'mp3', channels: 2, sample_rate: 44_100, segments: 1 });
  });

  it('METAHOOK_MAX_AUDIO_SECONDS below the recording: file_too_long naming the limit, and no model call', async () => {
    const provider = await extractorProvider({ METAHOOK_MAX_AUDIO_SECONDS: '600' });
    const mp3 = await makeMp3({ seconds: 900 });

    const error = await provider.extract({ kind: 'audio', format: 'mp3', mime: 'audio/mpeg', bytes: mp3 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as PermanentJobError).code).toBe('file_too_long');
    expect((error as PermanentJobError).message).toContain('600 s');
    expect(converse.requests).toHaveLength(0);
  });
});
