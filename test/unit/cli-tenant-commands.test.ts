// Tenant use cases behind `metahook tenants ...`, with in-memory ports.
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  allowMediaSource,
  createTenant,
  MediaSourceRefusedError,
  revokeMediaSource,
  disableTenant,
  enableTenant,
  listTenants,
  rotateTenantSecret,
  TenantNotFoundError,
  type TenantAdminDeps,
} from '../../lambdas/core/manage-tenants';
import type { ApiKeyRegistry, TenantDirectory, TenantWriter } from '../../lambdas/core/ports';
import type { SigningSecret, TenantRecord } from '../../lambdas/core/records';
import { signWebhook } from '../../lambdas/core/webhook-signature';

function fakes(start = new Date('2026-03-01T10:00:00.000Z')) {
  let now = start;
  const tenants = new Map<string, { tenant: TenantRecord; secrets: SigningSecret[] }>();
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
    async replaceSecrets(id, secrets) {
      tenants.get(id)!.secrets = secrets;
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
    async getSigningSecrets(id, at) {
      return (tenants.get(id)?.secrets ?? []).filter((s) => s.expires_at === null || Date.parse(s.expires_at) > at.getTime());
    },
  };
  let counter = 0;
  const deps: TenantAdminDeps & { newTenantId: () => string } = {
    apiKeys,
    tenants: directory,
    now: () => now,
    newTenantId: () => `ten_${++counter}`,
  };
  return { deps, tenants, keys, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

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
    expect(stored.map((s) => s.secret)).toEqual([second.signingSecret, first.signingSecret]);
    expect(stored[1]!.expires_at).toBe('2026-03-01T11:00:00.000Z');
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
