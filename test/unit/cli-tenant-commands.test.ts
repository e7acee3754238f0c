// Tenant use cases behind `metahook tenants ...`, with in-memory ports.
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  allowMediaSource,
  ConcurrentSecretChangeError,
  createTenant,
  MediaSourceRefusedError,
  revokeMediaSource,
  disableTenant,
  enableTenant,
  listTenants,
  rotateTenantSecret,
  sealTenantSecrets,
  setTenantAudioLimit,
  TenantNotFoundError,
  type TenantAdminDeps,
} from '../../lambdas/core/manage-tenants';
import type { ApiKeyRegistry, SecretSealer, TenantDirectory, TenantWriter } from '../../lambdas/core/ports';
import { AudioLimitRefusedError, audioLimitFor } from '../../lambdas/core/audio-limit';
import { isSealedSecret, type StoredSigningSecret, type TenantRecord } from '../../lambdas/core/records';
import { isValidAt, openStoredSecrets } from '../../lambdas/core/secret-custody';
import { generateSigningSecret, signWebhook } from '../../lambdas/core/webhook-signature';

/** Reversible stand-in for KMS that, like KMS, opens a value under its own context only. */
function fakeSealer(): SecretSealer & { opened: number; sealedCount: number } {
  const context = (c: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(c).sort(([a], [b]) => a.localeCompare(b)));
  const sealer = {
    opened: 0,
    sealedCount: 0,
    async seal(plaintext: string, c: Readonly<Record<string, string>>) {
      sealer.sealedCount++;
      return `fake-sealed:${Buffer.from(JSON.stringify([context(c), plaintext])).toString('base64')}`;
    },
    async open(sealed: string, c: Readonly<Record<string, string>>) {
      sealer.opened++;
      const [boundTo, plaintext] = JSON.parse(Buffer.from(sealed.slice('fake-sealed:'.length), 'base64').toString()) as [string, string];
      if (boundTo !== context(c)) throw new Error('context mismatch');
      return plaintext;
    },
  };
  return sealer;
}

function fakes(start = new Date('2026-03-01T10:00:00.000Z')) {
  let now = start;
  const sealer = fakeSealer();
  const tenants = new Map<string, { tenant: TenantRecord; secrets: StoredSigningSecret[]; version?: number }>();
  const keys = new Map<string, boolean>();
  const apiKeys: ApiKeyRegistry = {
    async createKey(name) {
      const id = `key_${keys.size + 1}`;
      keys.set(id, true);
      return { id, value: `value-of-${name}` };
    },
    async setEnabled(id, enabled) {
      if (!keys.has(id)) throw new Error(`no key ${id}`);
      keys.set(id, enabled);
    },
  };
  const directory: TenantWriter & TenantDirectory = {
    async putTenant(tenant, secrets) {
      tenants.set(tenant.tenant_id, { tenant, secrets });
    },
    async setStatus(id, status) {
      const entry = tenants.get(id)!;
      entry.tenant = { ...entry.tenant, status };
    },
    async getStoredSigningSecrets(id) {
      const entry = tenants.get(id);
      return entry ? { secrets: entry.secrets, version: entry.version ?? 0 } : undefined;
    },
    async replaceSecrets(id, secrets, expectedVersion) {
      const entry = tenants.get(id);
      if (!entry || (entry.version ?? 0) !== expectedVersion) return false;
      entry.secrets = secrets;
      entry.version = expectedVersion + 1;
      return true;
    },
    async listTenants() {
      return [...tenants.values()].map((entry) => entry.tenant);
    },
    async findByApiKeyId(keyId) {
      return [...tenants.values()].find((entry) => entry.tenant.api_key_id === keyId)?.tenant;
    },
    async getTenant(id) {
      return tenants.get(id)?.tenant;
    },
    async setMediaSources(id, sources) {
      const entry = tenants.get(id)!;
      entry.tenant = { ...entry.tenant, media_sources: sources };
    },
    async setMaxAudioSeconds(id, seconds) {
      const entry = tenants.get(id)!;
      const { max_audio_seconds: _old, ...rest } = entry.tenant;
      entry.tenant = seconds === undefined ? rest : { ...rest, max_audio_seconds: seconds };
    },
    async getSigningSecrets(id, at) {
      return openStoredSecrets(sealer, id, (tenants.get(id)?.secrets ?? []).filter((s) => isValidAt(s, at)));
    },
  };
  let counter = 0;
  const deps: TenantAdminDeps & { newTenantId: () => string } = {
    apiKeys,
    tenants: directory,
    sealer,
    now: () => now,
    newTenantId: () => `ten_${++counter}`,
  };
  return { deps, tenants, keys, sealer, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

const storedText = (entries: readonly StoredSigningSecret[]) => JSON.stringify(entries);

describe('disable and enable', () => {
  it('disable turns off the gateway key and marks the tenant disabled; enable undoes both', async () => {
    const { deps, keys, tenants, advance } = fakes();
    const { tenant } = await createTenant(deps, { name: 'Acme' });
    advance(1000);
    await createTenant(deps, { name: 'Other' });

    const disabled = await disableTenant(deps, tenant.tenant_id);
    expect(disabled.status).toBe('disabled');
    expect(keys.get(tenant.api_key_id)).toBe(false);
    expect(tenants.get(tenant.tenant_id)!.tenant.status).toBe('disabled');
    expect(keys.get('key_2')).toBe(true);

    await enableTenant(deps, tenant.tenant_id);
    expect(keys.get(tenant.api_key_id)).toBe(true);
    expect(tenants.get(tenant.tenant_id)!.tenant.status).toBe('active');
  });

  it('refuses unknown tenants without touching any key', async () => {
    const { deps, keys } = fakes();
    await expect(disableTenant(deps, 'ten_missing')).rejects.toBeInstanceOf(TenantNotFoundError);
    await expect(rotateTenantSecret(deps, 'ten_missing')).rejects.toThrow('no tenant with id ten_missing');
    expect(keys.size).toBe(0);
  });

  it('lists tenants oldest first, without secrets', async () => {
    const { deps, advance } = fakes();
    await createTenant(deps, { name: 'First' });
    advance(5000);
    await createTenant(deps, { name: 'Second' });
    const listed = await listTenants(deps);
    expect(listed.map((t) => t.name)).toEqual(['First', 'Second']);
    expect(JSON.stringify(listed)).not.toContain('whsec_');
  });
});

describe('rotate-secret', () => {
  it('keeps the previous secret signing for 24 h, after which only the new one signs', async () => {
    const { deps, tenants, advance } = fakes();
    const created = await createTenant(deps, { name: 'Acme' });
    const rotated = await rotateTenantSecret(deps, created.tenant.tenant_id);
    expect(rotated.signingSecret).toMatch(/^whsec_/);
    expect(rotated.signingSecret).not.toBe(created.signingSecret);
    expect(rotated.previousSecretExpiresAt).toBe('2026-03-02T10:00:00.000Z');

    const valid = await deps.tenants.getSigningSecrets(created.tenant.tenant_id, deps.now());
    expect(valid.map((s) => s.secret)).toEqual([rotated.signingSecret, created.signingSecret]);
    // A receiver on either secret accepts the dual-signed request (official library).
    // (Signed at the real time: the library refuses timestamps older than 5 minutes.)
    const headers = signWebhook({ id: 'msg_1', timestamp: new Date(), body: '{}', secrets: valid.map((s) => s.secret) });
    for (const secret of [created.signingSecret, rotated.signingSecret]) {
      expect(() => new Webhook(secret).verify('{}', { ...headers })).not.toThrow();
    }

    advance(24 * 3600 * 1000 + 1);
    const later = await deps.tenants.getSigningSecrets(created.tenant.tenant_id, deps.now());
    expect(later.map((s) => s.secret)).toEqual([rotated.signingSecret]);
    expect(tenants.get(created.tenant.tenant_id)!.secrets).toHaveLength(2);
  });

  it('a second rotation inside the window overlaps only the newest previous secret', async () => {
    const { deps, tenants } = fakes();
    const created = await createTenant(deps, { name: 'Acme' });
    const first = await rotateTenantSecret(deps, created.tenant.tenant_id);
    const second = await rotateTenantSecret(deps, created.tenant.tenant_id, 1);
    const stored = tenants.get(created.tenant.tenant_id)!.secrets;
    const opened = await deps.tenants.getSigningSecrets(created.tenant.tenant_id, deps.now());
    expect(opened.map((s) => s.secret)).toEqual([second.signingSecret, first.signingSecret]);
    expect(stored[1]!.expires_at).toBe('2026-03-01T11:00:00.000Z');
  });

  it('stores secrets sealed only and rotates without opening any (operators seal, never decrypt)', async () => {
    const { deps, tenants, sealer } = fakes();
    const created = await createTenant(deps, { name: 'Acme' });
    const rotated = await rotateTenantSecret(deps, created.tenant.tenant_id);
    const stored = tenants.get(created.tenant.tenant_id)!.secrets;
    expect(stored.every(isSealedSecret)).toBe(true);
    expect(storedText(stored)).not.toContain('whsec_');
    expect(storedText(stored)).not.toContain(rotated.signingSecret);
    expect(sealer.opened).toBe(0);
  });

  it('refuses to overwrite secrets another command changed meanwhile', async () => {
    const { deps, tenants } = fakes();
    const created = await createTenant(deps, { name: 'Acme' });
    const entry = tenants.get(created.tenant.tenant_id)!;
    const original = deps.tenants.getStoredSigningSecrets.bind(deps.tenants);
    deps.tenants.getStoredSigningSecrets = async (id) => {
      const read = await original(id);
      entry.secrets = [{ sealed: 'changed-by-someone-else', expires_at: null }];
      entry.version = (entry.version ?? 0) + 1;
      return read;
    };
    await expect(rotateTenantSecret(deps, created.tenant.tenant_id)).rejects.toBeInstanceOf(ConcurrentSecretChangeError);
    expect(entry.secrets).toEqual([{ sealed: 'changed-by-someone-else', expires_at: null }]);
  });
});

describe('seal-secrets migration', () => {
  /** A tenant item as written before sealing existed: plaintext current and previous secrets. */
  function legacyTenant(f: ReturnType<typeof fakes>, id: string, secrets: StoredSigningSecret[]) {
    f.tenants.set(id, {
      tenant: { tenant_id: id, name: id, status: 'active', api_key_id: `key_${id}`, created_at: '2026-02-01T00:00:00.000Z' },
      secrets,
    });
  }

  it('seals every plaintext secret, keeps expiry and values, and a second run changes nothing', async () => {
    const f = fakes();
    const current = generateSigningSecret();
    const previous = generateSigningSecret();
    legacyTenant(f, 'ten_old', [
      { secret: current, expires_at: null },
      { secret: previous, expires_at: '2026-03-01T20:00:00.000Z' },
    ]);
    await createTenant(f.deps, { name: 'New' });

    expect(await sealTenantSecrets(f.deps, { checkOnly: true })).toEqual({
      tenants: 2, tenantsSealed: 1, secretsSealed: 2, tenantsAlreadySealed: 1, tenantsSkipped: [],
    });
    expect(f.tenants.get('ten_old')!.secrets.some(isSealedSecret)).toBe(false);

    const report = await sealTenantSecrets(f.deps);
    expect(report).toEqual({ tenants: 2, tenantsSealed: 1, secretsSealed: 2, tenantsAlreadySealed: 1, tenantsSkipped: [] });
    const stored = f.tenants.get('ten_old')!.secrets;
    expect(storedText(stored)).not.toContain('whsec_');
    expect(stored.map((s) => s.expires_at)).toEqual([null, '2026-03-01T20:00:00.000Z']);
    const opened = await f.deps.tenants.getSigningSecrets('ten_old', f.deps.now());
    expect(opened.map((s) => s.secret)).toEqual([current, previous]);

    const before = storedText(stored);
    expect(await sealTenantSecrets(f.deps)).toMatchObject({ tenantsSealed: 0, secretsSealed: 0, tenantsAlreadySealed: 2 });
    expect(storedText(f.tenants.get('ten_old')!.secrets)).toBe(before);
  });

  it('a plaintext item still signs during the migration window, and rotating it seals it', async () => {
    const f = fakes();
    const legacy = generateSigningSecret();
    legacyTenant(f, 'ten_old', [{ secret: legacy, expires_at: null }]);
    expect((await f.deps.tenants.getSigningSecrets('ten_old', f.deps.now())).map((s) => s.secret)).toEqual([legacy]);

    const rotated = await rotateTenantSecret(f.deps, 'ten_old');
    const stored = f.tenants.get('ten_old')!.secrets;
    expect(stored.every(isSealedSecret)).toBe(true);
    expect(storedText(stored)).not.toContain('whsec_');
    expect((await f.deps.tenants.getSigningSecrets('ten_old', f.deps.now())).map((s) => s.secret)).toEqual([rotated.signingSecret, legacy]);
  });
});

describe('allow-source and revoke-source (issue 16: per-tenant media sources)', () => {
  const limits = { mediaBucket: 'metahook-media', allowedSourceBuckets: ['partner-uploads'] };

  it('stores a grant with the tenant, once, and revoke removes it', async () => {
    const { deps, tenants } = fakes();
    const { tenant } = await createTenant(deps, { name: 'Acme' });
    await allowMediaSource(deps, tenant.tenant_id, 's3://partner-uploads/acme/', limits);
    const again = await allowMediaSource(deps, tenant.tenant_id, 'partner-uploads/acme/', limits);
    expect(again.media_sources).toEqual([{ bucket: 'partner-uploads', prefix: 'acme/' }]);
    expect(tenants.get(tenant.tenant_id)!.tenant.media_sources).toEqual([{ bucket: 'partner-uploads', prefix: 'acme/' }]);
    expect((await listTenants(deps))[0]!.media_sources).toEqual([{ bucket: 'partner-uploads', prefix: 'acme/' }]);

    await revokeMediaSource(deps, tenant.tenant_id, 's3://partner-uploads/acme/');
    expect(tenants.get(tenant.tenant_id)!.tenant.media_sources).toEqual([]);
    await expect(revokeMediaSource(deps, tenant.tenant_id, 's3://partner-uploads/acme/')).rejects.toThrow('has no grant');
  });

  it.each([
    ['s3://metahook-media/tenants/other/', /is the media bucket/],
    ['s3://metahook-media/', /is the media bucket/],
    ['s3://not-deployed/acme/', /the deployment cannot read not-deployed: add it to allowedSourceBuckets/],
    ['s3://partner-uploads/acme', /must end with/],
  ])('refuses %s and stores nothing', async (source, reason) => {
    const { deps, tenants } = fakes();
    const { tenant } = await createTenant(deps, { name: 'Acme' });
    const refused = allowMediaSource(deps, tenant.tenant_id, source, limits);
    await expect(refused).rejects.toBeInstanceOf(MediaSourceRefusedError);
    await expect(allowMediaSource(deps, tenant.tenant_id, source, limits)).rejects.toThrow(reason);
    expect(tenants.get(tenant.tenant_id)!.tenant.media_sources).toBeUndefined();
  });

  it('refuses an unknown tenant', async () => {
    const { deps } = fakes();
    await expect(allowMediaSource(deps, 'ten_missing', 's3://partner-uploads/a/', limits)).rejects.toBeInstanceOf(TenantNotFoundError);
  });
});

describe('set-audio-limit', () => {
  const DEPLOYMENT_MAX = 7200;

  it('stores a limit at or under the deployment maximum, and --clear removes it', async () => {
    const { deps, tenants } = fakes();
    const { tenant } = await createTenant(deps, { name: 'Acme' });

    expect((await setTenantAudioLimit(deps, tenant.tenant_id, '600', DEPLOYMENT_MAX)).max_audio_seconds).toBe(600);
    expect(tenants.get(tenant.tenant_id)!.tenant.max_audio_seconds).toBe(600);
    await setTenantAudioLimit(deps, tenant.tenant_id, String(DEPLOYMENT_MAX), DEPLOYMENT_MAX);
    expect(tenants.get(tenant.tenant_id)!.tenant.max_audio_seconds).toBe(DEPLOYMENT_MAX);

    const cleared = await setTenantAudioLimit(deps, tenant.tenant_id, null, DEPLOYMENT_MAX);
    expect(cleared).not.toHaveProperty('max_audio_seconds');
    expect(tenants.get(tenant.tenant_id)!.tenant).not.toHaveProperty('max_audio_seconds');
  });

  it('refuses values above the deployment, not whole, or under 1 with a code, and stores nothing', async () => {
    const { deps, tenants } = fakes();
    const { tenant } = await createTenant(deps, { name: 'Acme' });
    const refusal = (raw: string) => setTenantAudioLimit(deps, tenant.tenant_id, raw, DEPLOYMENT_MAX).then(() => 'stored', (error: AudioLimitRefusedError) => error.code);

    expect(await refusal('7201')).toBe('audio_limit_above_deployment');
    for (const raw of ['0', '-5', '90.5', '1e3', 'ten', '']) expect(await refusal(raw), raw).toBe('audio_limit_invalid');
    expect(tenants.get(tenant.tenant_id)!.tenant).not.toHaveProperty('max_audio_seconds');
    await expect(setTenantAudioLimit(deps, 'ten_missing', '60', DEPLOYMENT_MAX)).rejects.toBeInstanceOf(TenantNotFoundError);
  });

  it("applies the tenant's limit only below the deployment's, which caps it", () => {
    expect(audioLimitFor({ max_audio_seconds: 60 }, DEPLOYMENT_MAX)).toEqual({ maxSeconds: 60, setBy: 'tenant' });
    expect(audioLimitFor({}, DEPLOYMENT_MAX)).toEqual({ maxSeconds: DEPLOYMENT_MAX, setBy: 'deployment' });
    // Set when the deployment allowed more, then the deployment was lowered: the deployment wins.
    expect(audioLimitFor({ max_audio_seconds: 10_000 }, DEPLOYMENT_MAX)).toEqual({ maxSeconds: DEPLOYMENT_MAX, setBy: 'deployment' });
  });
});
