// Use case: tenant commands (cli/ and the local stack's dev tenant) -> (ApiKeyRegistry, TenantWriter, TenantDirectory).
// The API key and the signing secret are shown once, at creation; only the key's id is stored.
import { formatGrant, parseMediaSourceGrant, type MediaSourceGrant } from './media-scope';
import type { ApiKeyRegistry, TenantDirectory, TenantWriter } from './ports';
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

// ---------- operator commands on an existing tenant (cli/ tenants ...) ----------

/** What the list/disable/enable/rotate commands need: tenant reads and writes plus the gateway's keys. */
export interface TenantAdminDeps {
  readonly apiKeys: ApiKeyRegistry;
  readonly tenants: TenantWriter & TenantDirectory;
  readonly now: () => Date;
}

export class TenantNotFoundError extends Error {
  override readonly name = 'TenantNotFoundError';
  constructor(readonly tenantId: string) {
    super(`no tenant with id ${tenantId}`);
  }
}

async function requireTenant(deps: Pick<TenantAdminDeps, 'tenants'>, tenantId: string): Promise<TenantRecord> {
  const tenant = await deps.tenants.getTenant(tenantId);
  if (!tenant) throw new TenantNotFoundError(tenantId);
  return tenant;
}

/** Tenants oldest first; never their secrets (the directory does not return them). */
export async function listTenants(deps: Pick<TenantAdminDeps, 'tenants'>): Promise<TenantRecord[]> {
  const tenants = await deps.tenants.listTenants();
  return [...tenants].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.tenant_id.localeCompare(b.tenant_id));
}

/**
 * Refuses the tenant's key at the gateway and marks the tenant disabled, which the handlers
 * check too (its queued jobs are held, not processed). Idempotent.
 */
export async function disableTenant(deps: TenantAdminDeps, tenantId: string): Promise<TenantRecord> {
  const tenant = await requireTenant(deps, tenantId);
  // Status first: even if the gateway call fails, the handlers already refuse the tenant.
  await deps.tenants.setStatus(tenantId, 'disabled');
  await deps.apiKeys.setEnabled(tenant.api_key_id, false);
  return { ...tenant, status: 'disabled' };
}

/** Undoes disableTenant: same key, same secrets. Idempotent. */
export async function enableTenant(deps: TenantAdminDeps, tenantId: string): Promise<TenantRecord> {
  const tenant = await requireTenant(deps, tenantId);
  await deps.apiKeys.setEnabled(tenant.api_key_id, true);
  await deps.tenants.setStatus(tenantId, 'active');
  return { ...tenant, status: 'active' };
}

export interface RotatedSecret {
  readonly tenant: TenantRecord;
  /** Shown once. */
  readonly signingSecret: string;
  /** When the previous secret stops signing; null when there was none. */
  readonly previousSecretExpiresAt: string | null;
}

/**
 * A new signing secret; the current one keeps signing alongside it for `overlapHours`
 * (callbacks carry both signatures), so receivers can switch without losing a delivery.
 * A secret still inside an earlier overlap is dropped: only the newest previous one overlaps.
 */
export async function rotateTenantSecret(deps: TenantAdminDeps, tenantId: string, overlapHours = 24): Promise<RotatedSecret> {
  const tenant = await requireTenant(deps, tenantId);
  const now = deps.now();
  const current = await deps.tenants.getSigningSecrets(tenantId, now);
  const { secrets, newSecret } = rotateSecrets(current, now, overlapHours);
  await deps.tenants.replaceSecrets(tenantId, secrets);
  return {
    tenant,
    signingSecret: newSecret,
    previousSecretExpiresAt: secrets.find((secret) => secret.secret !== newSecret)?.expires_at ?? null,
  };
}

// ---------- media sources (issue 16): what a tenant may reference besides its upload prefix ----------

/** What the deployment lets the extractor read at all (its IAM grant): a grant outside it could never be read. */
export interface MediaSourceLimits {
  readonly mediaBucket: string;
  readonly allowedSourceBuckets: readonly string[];
}

export class MediaSourceRefusedError extends Error {
  override readonly name = 'MediaSourceRefusedError';
}

/**
 * Lets the tenant reference objects of `source` (`s3://bucket/prefix/`). Refuses the media bucket
 * (its tenants' prefixes are given, never shared) and buckets the deployment cannot read.
 * Idempotent: an existing grant is not added twice.
 */
export async function allowMediaSource(
  deps: Pick<TenantAdminDeps, 'tenants'>,
  tenantId: string,
  source: string,
  limits: MediaSourceLimits,
): Promise<TenantRecord> {
  let grant: MediaSourceGrant;
  try {
    grant = parseMediaSourceGrant(source);
  } catch (error) {
    throw new MediaSourceRefusedError((error as Error).message);
  }
  if (grant.bucket === limits.mediaBucket) {
    throw new MediaSourceRefusedError(
      `${grant.bucket} is the media bucket: each tenant may read only its own prefix there (tenants/<tenant id>/), which needs no grant`,
    );
  }
  if (!limits.allowedSourceBuckets.includes(grant.bucket)) {
    const allowed = limits.allowedSourceBuckets.length > 0 ? limits.allowedSourceBuckets.join(', ') : 'none';
    throw new MediaSourceRefusedError(
      `the deployment cannot read ${grant.bucket}: add it to allowedSourceBuckets and deploy first (allowed now: ${allowed})`,
    );
  }
  const tenant = await requireTenant(deps, tenantId);
  const current = tenant.media_sources ?? [];
  if (current.some((g) => g.bucket === grant.bucket && g.prefix === grant.prefix)) return tenant;
  const media_sources = [...current, grant];
  await deps.tenants.setMediaSources(tenantId, media_sources);
  return { ...tenant, media_sources };
}

/** Removes a grant added by allowMediaSource; jobs already queued for it fail with file_url_forbidden. */
export async function revokeMediaSource(deps: Pick<TenantAdminDeps, 'tenants'>, tenantId: string, source: string): Promise<TenantRecord> {
  let grant: MediaSourceGrant;
  try {
    grant = parseMediaSourceGrant(source);
  } catch (error) {
    throw new MediaSourceRefusedError((error as Error).message);
  }
  const tenant = await requireTenant(deps, tenantId);
  const current = tenant.media_sources ?? [];
  const media_sources = current.filter((g) => !(g.bucket === grant.bucket && g.prefix === grant.prefix));
  if (media_sources.length === current.length) {
    throw new MediaSourceRefusedError(`tenant ${tenantId} has no grant ${formatGrant(grant)}`);
  }
  await deps.tenants.setMediaSources(tenantId, media_sources);
  return { ...tenant, media_sources };
}
