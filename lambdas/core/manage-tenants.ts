// Use case: tenant commands (cli/ and the local stack's dev tenant) -> (ApiKeyRegistry, TenantWriter).
// The API key and the signing secret are shown once, at creation; only the key's id is stored.
import type { ApiKeyRegistry, TenantWriter } from './ports';
import type { SigningSecret, TenantRecord } from './records';
import { generateSigningSecret } from './webhook-signature';

export interface TenantCommandDeps {
  readonly apiKeys: ApiKeyRegistry;
  readonly tenants: TenantWriter;
  readonly now: () => Date;
  readonly newTenantId: () => string;
}

export interface CreatedTenant {
  readonly tenant: TenantRecord;
  /** Shown once: the caller must hand it over now. */
  readonly apiKey: string;
  /** Shown once. */
  readonly signingSecret: string;
}

export async function createTenant(deps: TenantCommandDeps, input: { readonly name: string }): Promise<CreatedTenant> {
  const name = input.name.trim();
  if (!/^[\w .,@()-]{1,100}$/.test(name)) {
    throw new Error('tenant name must be 1 to 100 letters, digits, spaces or . , @ ( ) - _');
  }
  const tenantId = deps.newTenantId();
  const key = await deps.apiKeys.createKey(`metahook-${tenantId}`);
  const signingSecret = generateSigningSecret();
  const tenant: TenantRecord = {
    tenant_id: tenantId,
    name,
    status: 'active',
    api_key_id: key.id,
    created_at: deps.now().toISOString(),
  };
  await deps.tenants.putTenant(tenant, [{ secret: signingSecret, expires_at: null }]);
  return { tenant, apiKey: key.value, signingSecret };
}

/** New secret signs from now on; the previous one keeps signing (both sent) until the overlap ends. */
export function rotateSecrets(current: readonly SigningSecret[], now: Date, overlapHours = 24): {
  secrets: SigningSecret[];
  newSecret: string;
} {
  const newSecret = generateSigningSecret();
  const overlapEnds = new Date(now.getTime() + overlapHours * 3600 * 1000).toISOString();
  const previous = current.find((secret) => secret.expires_at === null);
  return {
    newSecret,
    secrets: [{ secret: newSecret, expires_at: null }, ...(previous ? [{ secret: previous.secret, expires_at: overlapEnds }] : [])],
  };
}
