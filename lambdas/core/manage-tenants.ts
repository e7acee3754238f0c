// Use case: tenant commands (cli/ and the local stack's dev tenant) -> (ApiKeyRegistry, TenantWriter,
// TenantDirectory, SecretSealer). The API key and the signing secret are shown once, at creation;
// only the key's id is stored, and the secret only sealed. No command here opens a sealed secret:
// rotation keeps the previous one as it is stored, so operators need to seal, never to decrypt.
import { checkTenantAudioLimit } from './audio-limit';
import { formatGrant, parseMediaSourceGrant, type MediaSourceGrant } from './media-scope';
import type { ApiKeyRegistry, SecretSealer, TenantDirectory, TenantWriter } from './ports';
import { isSealedSecret, type SealedSigningSecret, type StoredSigningSecret, type TenantRecord } from './records';
import { isValidAt, sealSigningSecret, sealStoredSecrets } from './secret-custody';
import { generateSigningSecret } from './webhook-signature';

export interface TenantCommandDeps {
  readonly apiKeys: ApiKeyRegistry;
  readonly tenants: TenantWriter;
  readonly sealer: Pick<SecretSealer, 'seal'>;
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
  const sealed = await sealSigningSecret(deps.sealer, tenantId, { secret: signingSecret, expires_at: null });
  await deps.tenants.putTenant(tenant, [sealed]);
  return { tenant, apiKey: key.value, signingSecret };
}

/**
 * New secret signs from now on; the previous one keeps signing (both sent) until the overlap ends.
 * Works on sealed entries: the previous secret is carried over without being opened.
 */
export function rotateSecrets(
  current: readonly SealedSigningSecret[],
  fresh: SealedSigningSecret,
  now: Date,
  overlapHours = 24,
): SealedSigningSecret[] {
  const overlapEnds = new Date(now.getTime() + overlapHours * 3600 * 1000).toISOString();
  const previous = current.find((secret) => secret.expires_at === null && isValidAt(secret, now));
  return [fresh, ...(previous ? [{ sealed: previous.sealed, expires_at: overlapEnds }] : [])];
}

// ---------- operator commands on an existing tenant (cli/ tenants ...) ----------

/** What the list/disable/enable/rotate commands need: tenant reads and writes plus the gateway's keys. */
export interface TenantAdminDeps {
  readonly apiKeys: ApiKeyRegistry;
  readonly tenants: TenantWriter & TenantDirectory;
  readonly sealer: Pick<SecretSealer, 'seal'>;
  readonly now: () => Date;
}

/** Another command changed the tenant's secrets between our read and our write. */
export class ConcurrentSecretChangeError extends Error {
  override readonly name = 'ConcurrentSecretChangeError';
  constructor(readonly tenantId: string) {
    super(`the signing secrets of tenant ${tenantId} changed while this command ran; run it again`);
  }
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
export async function disableTenant(deps: Pick<TenantAdminDeps, 'apiKeys' | 'tenants' | 'now'>, tenantId: string): Promise<TenantRecord> {
  const tenant = await requireTenant(deps, tenantId);
  // Status first: even if the gateway call fails, the handlers already refuse the tenant.
  await deps.tenants.setStatus(tenantId, 'disabled');
  await deps.apiKeys.setEnabled(tenant.api_key_id, false);
  return { ...tenant, status: 'disabled' };
}

/** Undoes disableTenant: same key, same secrets. Idempotent. */
export async function enableTenant(deps: Pick<TenantAdminDeps, 'apiKeys' | 'tenants' | 'now'>, tenantId: string): Promise<TenantRecord> {
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
  const stored = (await deps.tenants.getStoredSigningSecrets(tenantId)) ?? { secrets: [], version: 0 };
  // A tenant not yet migrated is sealed on the way (the previous secret included).
  const current = await sealStoredSecrets(deps.sealer, tenantId, stored.secrets);
  const newSecret = generateSigningSecret();
  const fresh = await sealSigningSecret(deps.sealer, tenantId, { secret: newSecret, expires_at: null });
  const secrets = rotateSecrets(current, fresh, now, overlapHours);
  if (!(await deps.tenants.replaceSecrets(tenantId, secrets, stored.version))) throw new ConcurrentSecretChangeError(tenantId);
  return {
    tenant,
    signingSecret: newSecret,
    previousSecretExpiresAt: secrets[1]?.expires_at ?? null,
  };
}

// ---------- migration: plaintext secrets from before sealing (cli/ tenants seal-secrets) ----------

export interface SealSecretsReport {
  readonly tenants: number;
  /** Tenants whose item held plaintext and now holds only sealed secrets (or would, with checkOnly). */
  readonly tenantsSealed: number;
  /** Plaintext secrets sealed (or found, with checkOnly). */
  readonly secretsSealed: number;
  readonly tenantsAlreadySealed: number;
  /** Tenants changed by another command meanwhile: run again. */
  readonly tenantsSkipped: readonly string[];
}

const plaintextCount = (stored: readonly StoredSigningSecret[]) => stored.filter((entry) => !isSealedSecret(entry)).length;

/**
 * Rewrites every tenant's plaintext signing secrets sealed, keeping their expiry. Idempotent: a
 * tenant with sealed secrets only is left alone, and a second run reports 0 sealed. checkOnly
 * counts without writing (or sealing).
 */
export async function sealTenantSecrets(
  deps: Pick<TenantAdminDeps, 'tenants' | 'sealer'>,
  options: { readonly checkOnly?: boolean } = {},
): Promise<SealSecretsReport> {
  const tenants = await deps.tenants.listTenants();
  let tenantsSealed = 0;
  let secretsSealed = 0;
  let tenantsAlreadySealed = 0;
  const tenantsSkipped: string[] = [];
  for (const { tenant_id: tenantId } of tenants) {
    const stored = await deps.tenants.getStoredSigningSecrets(tenantId);
    if (!stored) continue; // deleted since the listing
    const plaintext = plaintextCount(stored.secrets);
    if (plaintext === 0) {
      tenantsAlreadySealed += 1;
      continue;
    }
    if (!options.checkOnly) {
      const sealed = await sealStoredSecrets(deps.sealer, tenantId, stored.secrets);
      if (!(await deps.tenants.replaceSecrets(tenantId, sealed, stored.version))) {
        tenantsSkipped.push(tenantId);
        continue;
      }
    }
    tenantsSealed += 1;
    secretsSealed += plaintext;
  }
  return { tenants: tenants.length, tenantsSealed, secretsSealed, tenantsAlreadySealed, tenantsSkipped };
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

/**
 * Sets the tenant's own audio duration limit (a whole number of seconds, at most the deployment's
 * maximum: AudioLimitRefusedError otherwise), or with `null` removes it so the deployment's applies.
 * Warm extractors pick it up within the tenant cache's TTL (30 s, table-ports.ts).
 */
export async function setTenantAudioLimit(
  deps: Pick<TenantAdminDeps, 'tenants'>,
  tenantId: string,
  maxSeconds: string | null,
  deploymentMaxSeconds: number,
): Promise<TenantRecord> {
  const seconds = maxSeconds === null ? undefined : checkTenantAudioLimit(maxSeconds, deploymentMaxSeconds);
  const tenant = await requireTenant(deps, tenantId);
  await deps.tenants.setMaxAudioSeconds(tenantId, seconds);
  const { max_audio_seconds: _previous, ...rest } = tenant;
  return seconds === undefined ? rest : { ...rest, max_audio_seconds: seconds };
}
