// The KMS SecretSealer against the local key service on 127.0.0.1 (the same SDK client and
// wire protocol as on AWS): values round-trip, are bound to their context, carry no trace of
// the plaintext, survive a restart of the key service, and a warm cache opens each once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { createKmsSecretSealer, isSealed, SEALED_PREFIX_V1, SecretSealingError } from '../../lambdas/adapters/kms-secret-sealer';
import { cacheOpenedSecrets } from '../../lambdas/adapters/cached-secret-sealer';
import { generateSigningSecret } from '../../lambdas/core/webhook-signature';
import { startLocalKeyService, type LocalKeyService } from '../../local/key-service';
import type { SecretSealer } from '../../lambdas/core/ports';

const kmsClient = (endpoint: string) =>
  new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const contextA = { purpose: 'webhook-signing-secret', tenant_id: 'ten_A' };

let dataDir: string;
let keys: LocalKeyService;
let kms: KMSClient;
let sealer: SecretSealer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-kms-'));
  keys = await startLocalKeyService({ dataDir });
  kms = kmsClient(keys.endpoint);
  sealer = createKmsSecretSealer(kms, { keyId: keys.keyArn });
});

afterAll(async () => {
  kms?.destroy();
  await keys?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('KMS secret sealer', () => {
  it('seals into a versioned string without the plaintext and opens it under the same context', async () => {
    const secret = generateSigningSecret();
    const sealed = await sealer.seal(secret, contextA);
    expect(sealed.startsWith(SEALED_PREFIX_V1)).toBe(true);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('whsec_');
    expect(sealed).not.toContain(secret.slice('whsec_'.length));
    // Fresh data key and iv each time: equal secrets do not give equal ciphertexts.
    expect(await sealer.seal(secret, contextA)).not.toBe(sealed);
    // Key order of the context does not matter (KMS compares it as a map).
    expect(await sealer.open(sealed, { tenant_id: 'ten_A', purpose: 'webhook-signing-secret' })).toBe(secret);
  });

  it('refuses to open a value under another tenant, purpose or an extra context entry', async () => {
    const sealed = await sealer.seal('whsec_dGVzdA==', contextA);
    for (const context of [
      { ...contextA, tenant_id: 'ten_B' },
      { ...contextA, purpose: 'callback-headers' },
      { ...contextA, extra: 'x' },
      { tenant_id: 'ten_A' },
    ]) {
      const error = await rejection(sealer.open(sealed, context));
      expect(error, JSON.stringify(context)).toBeInstanceOf(SecretSealingError);
      expect((error as SecretSealingError).code).toBe('sealed_value_rejected');
      expect(String((error as Error).message)).not.toContain('whsec_');
    }
  });

  it('detects a tampered ciphertext, a swapped data key and a malformed value', async () => {
    const sealed = await sealer.seal('whsec_dGVzdA==', contextA);
    const other = await sealer.seal('whsec_b3RoZXI=', contextA);
    const [edk, iv, body] = sealed.slice(SEALED_PREFIX_V1.length).split(':') as [string, string, string];
    const flipped = Buffer.from(body, 'base64');
    flipped[0]! ^= 1;
    const tampered = `${SEALED_PREFIX_V1}${edk}:${iv}:${flipped.toString('base64')}`;
    expect(((await rejection(sealer.open(tampered, contextA))) as SecretSealingError).code).toBe('sealed_value_rejected');
    const otherEdk = other.slice(SEALED_PREFIX_V1.length).split(':')[0]!;
    const swapped = `${SEALED_PREFIX_V1}${otherEdk}:${iv}:${body}`;
    expect(((await rejection(sealer.open(swapped, contextA))) as SecretSealingError).code).toBe('sealed_value_rejected');
    for (const bad of ['whsec_plain', `${SEALED_PREFIX_V1}abc`, `${SEALED_PREFIX_V1}${edk}:${iv}`, 'metahook:sealed:v9:a:b:c']) {
      expect(((await rejection(sealer.open(bad, contextA))) as SecretSealingError).code, bad).toBe('sealed_value_malformed');
    }
  });

  it('refuses an empty context, which would bind the value to nothing', async () => {
    expect(((await rejection(sealer.seal('x', {}))) as SecretSealingError).code).toBe('sealing_context_invalid');
    expect(((await rejection(sealer.seal('x', { tenant_id: '' }))) as SecretSealingError).code).toBe('sealing_context_invalid');
  });

  it('opens values sealed before a restart of the key service (key material persisted, mode 0600)', async () => {
    const sealed = await sealer.seal('whsec_cGVyc2lzdA==', contextA);
    await keys.stop();
    kms.destroy();
    keys = await startLocalKeyService({ dataDir });
    kms = kmsClient(keys.endpoint);
    sealer = createKmsSecretSealer(kms, { keyId: keys.keyArn });
    expect(await sealer.open(sealed, contextA)).toBe('whsec_cGVyc2lzdA==');
    expect((await stat(join(dataDir, 'kms-key.json'))).mode & 0o077).toBe(0);
  });

  it("refuses another key service's ciphertext (a different key)", async () => {
    const elsewhere = await startLocalKeyService();
    const otherKms = kmsClient(elsewhere.endpoint);
    try {
      const foreign = await createKmsSecretSealer(otherKms, { keyId: elsewhere.keyArn }).seal('whsec_Zm9yZWlnbg==', contextA);
      const error = await rejection(sealer.open(foreign, contextA));
      expect((error as SecretSealingError).code).toBe('sealed_value_rejected');
    } finally {
      otherKms.destroy();
      await elsewhere.stop();
    }
  });
});

describe('opened-secret cache', () => {
  const counting = (inner: SecretSealer) => {
    const calls = { open: 0 };
    return {
      calls,
      sealer: { seal: inner.seal, open: (s: string, c: Readonly<Record<string, string>>) => (calls.open++, inner.open(s, c)) } as SecretSealer,
    };
  };

  it('opens each sealed value once per warm container until the TTL, and again after', async () => {
    let clock = 0;
    const { calls, sealer: inner } = counting(sealer);
    const cached = cacheOpenedSecrets(inner, { ttlMs: 1000, now: () => clock });
    const sealed = await sealer.seal('whsec_Y2FjaGU=', contextA);
    const opened = await Promise.all([1, 2, 3].map(() => cached.open(sealed, contextA)));
    expect(opened).toEqual(['whsec_Y2FjaGU=', 'whsec_Y2FjaGU=', 'whsec_Y2FjaGU=']);
    expect(calls.open).toBe(1);
    clock = 1000;
    await cached.open(sealed, contextA);
    expect(calls.open).toBe(2);
  });

  it('keeps the context in the key: a cached value is not handed out under another context', async () => {
    const cached = cacheOpenedSecrets(sealer);
    const sealed = await sealer.seal('whsec_a2V5ZWQ=', contextA);
    expect(await cached.open(sealed, contextA)).toBe('whsec_a2V5ZWQ=');
    expect(((await rejection(cached.open(sealed, { ...contextA, tenant_id: 'ten_B' }))) as SecretSealingError).code).toBe('sealed_value_rejected');
  });

  it('is bounded (least recently used goes first) and never caches a failure', async () => {
    const { calls, sealer: inner } = counting(sealer);
    const cached = cacheOpenedSecrets(inner, { maxEntries: 2 });
    const [a, b, c] = await Promise.all(['whsec_YQ==', 'whsec_Yg==', 'whsec_Yw=='].map((s) => sealer.seal(s, contextA)));
    await cached.open(a!, contextA);
    await cached.open(b!, contextA);
    await cached.open(a!, contextA); // a is now the most recent
    await cached.open(c!, contextA); // evicts b
    expect(calls.open).toBe(3);
    await cached.open(a!, contextA);
    expect(calls.open).toBe(3);
    await cached.open(b!, contextA);
    expect(calls.open).toBe(4);

    await rejection(cached.open(a!, { tenant_id: 'ten_B' }));
    await rejection(cached.open(a!, { tenant_id: 'ten_B' }));
    expect(calls.open).toBe(6);
  });
});
