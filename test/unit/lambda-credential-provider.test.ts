// The credential shim the Lambda bundles use instead of the SDK's default chain
// (lib/bundle-shims/lambda-credential-provider.ts): it must find the credentials the Lambda runtime
// puts in the environment, those of a container credentials endpoint (a real HTTP server on
// 127.0.0.1 here), and fail with a clear error, not a hang or a wrong source, when neither is there.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialsProviderError, defaultProvider } from '../../lib/bundle-shims/lambda-credential-provider';
import { fromEnvSigningName, nodeProvider, TokenProviderError } from '../../lib/bundle-shims/lambda-token-provider';

const VARIABLES = ['AWS_BEARER_TOKEN_BEDROCK', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_PROFILE'];
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
let server: Server | undefined;

function setEnv(values: Record<string, string>) {
  for (const name of VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
}

afterEach(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('Lambda credential provider shim', () => {
  it('reads the execution role credentials the Lambda runtime sets, through a real SDK client', async () => {
    // AWS_PROFILE would make the SDK's own chain skip the environment; Lambda never sets it.
    setEnv({ AWS_ACCESS_KEY_ID: 'AKIDLAMBDA', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' });
    const client = new SQSClient({ region: 'us-east-1', credentialDefaultProvider: defaultProvider });
    await expect(client.config.credentials()).resolves.toMatchObject({ accessKeyId: 'AKIDLAMBDA', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('falls back to a container credentials endpoint', async () => {
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    server = createServer((request, response) => {
      expect(request.url).toBe('/role-credentials');
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ AccessKeyId: 'AKIDCONTAINER', SecretAccessKey: 's', Token: 't', Expiration: expiration }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    setEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/role-credentials` });
    const credentials = await defaultProvider()();
    expect(credentials).toMatchObject({ accessKeyId: 'AKIDCONTAINER', sessionToken: 't' });
    expect(credentials.expiration?.toISOString()).toBe(expiration);
  });

  it('fails with a CredentialsProviderError that ends the chain when neither source is there', async () => {
    setEnv({ AWS_PROFILE: 'developer' });
    const failure = await defaultProvider()().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CredentialsProviderError);
    expect(failure).toMatchObject({ name: 'CredentialsProviderError', tryNextLink: false, message: expect.stringMatching(/AWS_ACCESS_KEY_ID/) });
  });
});

describe('Lambda token provider shim', () => {
  it('reads a Bedrock API key from the variable the SDK reads, and nothing else', async () => {
    setEnv({ AWS_BEARER_TOKEN_BEDROCK: 'bedrock-api-key' });
    await expect(fromEnvSigningName({ signingName: 'bedrock' })()).resolves.toEqual({ token: 'bedrock-api-key' });
    setEnv({});
    await expect(fromEnvSigningName({ signingName: 'bedrock' })()).rejects.toBeInstanceOf(TokenProviderError);
    await expect(nodeProvider()()).rejects.toThrow(/SigV4/);
  });
});
