// Adapter decorator: remembers opened secrets in the warm Lambda, so a burst of deliveries for
// one tenant costs one KMS Decrypt, not one per webhook. Keyed by the sealed value and its
// context: a rotation writes a new sealed value, which misses the cache and is opened afresh.
// Bounded (least recently used goes first) and time-limited, so a revoked key or grant takes
// effect within ttlMs. Failures are never cached. Sealing is passed straight through.
import type { SecretSealer } from '../core/ports';
import { canonicalContext } from './kms-secret-sealer';

export interface OpenedSecretCacheOptions {
  /** @default 256 */
  readonly maxEntries?: number;
  /** @default 15 minutes */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

export function cacheOpenedSecrets(inner: SecretSealer, options: OpenedSecretCacheOptions = {}): SecretSealer {
  const maxEntries = options.maxEntries ?? 256;
  const ttlMs = options.ttlMs ?? 15 * 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { readonly at: number; readonly value: Promise<string> }>();
  return {
    seal: (plaintext, context) => inner.seal(plaintext, context),
    open(sealed, context) {
      const key = `${canonicalContext(context)}\n${sealed}`;
      const hit = cache.get(key);
      if (hit && now() - hit.at < ttlMs) {
        // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
        cache.delete(key);
        cache.set(key, hit);
        return hit.value;
      }
      const value = inner.open(sealed, context);
      cache.delete(key);
      cache.set(key, { at: now(), value });
      value.catch(() => {
        if (cache.get(key)?.value === value) cache.delete(key);
      });
      while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
      return value;
    },
  };
}
