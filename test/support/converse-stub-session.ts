// Test support: one local Bedrock Runtime stub (converse-stub.ts) per test, for the files that
// drive a real BedrockRuntimeClient at it. Call useConverseStub() at a file's top level: it gives
// the SDK's default credential chain stub keys (the stub ignores signatures) and stops the test's
// stub after each test, so no test sees another's requests.
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterEach, beforeAll } from 'vitest';
import { createBedrockRuntimeClient } from '../../lambdas/adapters/model-provider';
import { startConverseStub, type ConverseStubOptions, type RecordedConverseRequest, type RunningConverseStub } from './converse-stub';

export interface ConverseStubSession {
  /** Starts this test's stub; a second start in the same test is a mistake in the test. */
  start(options?: ConverseStubOptions): Promise<RunningConverseStub>;
  /** This test's stub, if it started one. */
  readonly running: RunningConverseStub | undefined;
  /** What this test's stub received, in order (throws if none started). */
  readonly requests: RecordedConverseRequest[];
  /** Handler environment that points the Bedrock client at this test's stub, plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** A real BedrockRuntimeClient at this test's stub (maxAttempts 1 unless told otherwise). */
  client(tuning?: Parameters<typeof createBedrockRuntimeClient>[1]): BedrockRuntimeClient;
}

export function useConverseStub(): ConverseStubSession {
  let stub: RunningConverseStub | undefined;
  const started = (): RunningConverseStub => {
    if (!stub) throw new Error('no Converse stub started in this test (call start() first)');
    return stub;
  };

  beforeAll(() => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDSTUBSTUBSTUBSTUB';
    process.env.AWS_SECRET_ACCESS_KEY = 'stub-secret';
    delete process.env.AWS_PROFILE;
  });

  afterEach(async () => {
    await stub?.stop();
    stub = undefined;
  });

  const session: ConverseStubSession = {
    async start(options = {}) {
      if (stub) throw new Error('a Converse stub is already running in this test');
      stub = await startConverseStub(options);
      return stub;
    },
    get running() {
      return stub;
    },
    get requests() {
      return started().requests;
    },
    env: (extra = {}) => ({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: started().endpoint, AWS_REGION: 'us-east-1', ...extra }),
    client: (tuning = { maxAttempts: 1 }) => createBedrockRuntimeClient(session.env(), tuning),
  };
  return session;
}
