// The tenant cache keeps an active tenant for its TTL but never a disabled one, so enabling a
// tenant takes effect at once (its released jobs are not held again by a warm extractor).
import { describe, expect, it } from 'vitest';
import { cacheTenantDirectory } from '../../lambdas/adapters/cached-tenant-directory';
import type { TenantDirectory } from '../../lambdas/core/ports';

function directory(status: { value: 'active' | 'disabled' }) {
  let reads = 0;
  const inner = {
    getTenant: async (tenantId: string) => {
      reads++;
      return { tenant_id: tenantId, name: 't', status: status.value, api_key_id: 'k', created_at: '' };
    },
    findByApiKeyId: async () => undefined,
    getSigningSecrets: async () => [],
  } as unknown as TenantDirectory;
  return { inner, reads: () => reads };
}

describe('cacheTenantDirectory', () => {
  it('serves an active tenant from the cache within the TTL', async () => {
    const status = { value: 'active' as const };
    const { inner, reads } = directory(status);
    const cached = cacheTenantDirectory(inner, 60_000, () => 0);
    await cached.getTenant('ten_1');
    await cached.getTenant('ten_1');
    expect(reads()).toBe(1);
  });

  it('reads a disabled tenant again every time, so re-enabling it is seen at once', async () => {
    const status: { value: 'active' | 'disabled' } = { value: 'disabled' };
    const { inner, reads } = directory(status);
    const cached = cacheTenantDirectory(inner, 60_000, () => 0);
    expect((await cached.getTenant('ten_1'))?.status).toBe('disabled');
    status.value = 'active';
    expect((await cached.getTenant('ten_1'))?.status).toBe('active');
    expect(reads()).toBe(2);
  });
});
