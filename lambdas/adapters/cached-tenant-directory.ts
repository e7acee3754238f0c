// Adapter decorator: keeps tenant lookups in the warm Lambda for a short time, so a burst
// of requests or deliveries does not read the same tenant item again and again. Short TTL:
// a disabled tenant or a rotated secret takes effect within a minute. A tenant that is not active
// is never kept: re-enabling it takes effect at once, so the jobs `tenants enable` releases are
// not held again by a warm extractor that still remembers the tenant disabled.
import type { TenantDirectory } from '../core/ports';

const isActive = (tenant: { readonly status?: string } | undefined): boolean => tenant?.status === 'active';

export function cacheTenantDirectory(inner: TenantDirectory, ttlMs: number, now: () => number = Date.now): TenantDirectory {
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  function remember<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value as Promise<T>;
    const value = load();
    cache.set(key, { at: now(), value });
    value.then((loaded) => {
      if (!keep(loaded) && cache.get(key)?.value === value) cache.delete(key);
    }, () => cache.delete(key)); // never cache a failure
    if (cache.size > 1000) cache.delete(cache.keys().next().value!);
    return value;
  }
  return {
    findByApiKeyId: (apiKeyId) => remember(`key:${apiKeyId}`, () => inner.findByApiKeyId(apiKeyId), isActive),
    getTenant: (tenantId) => remember(`tenant:${tenantId}`, () => inner.getTenant(tenantId), isActive),
    // Filter by expiry on every call even when cached: the cached list may hold an expired secret.
    getSigningSecrets: async (tenantId, at) =>
      (await remember(`secrets:${tenantId}`, () => inner.getSigningSecrets(tenantId, at))).filter(
        (secret) => secret.expires_at === null || Date.parse(secret.expires_at) > at.getTime(),
      ),
  };
}
