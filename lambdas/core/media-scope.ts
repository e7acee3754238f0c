// Domain rule: which S3 objects a tenant may have Metahook read (issue 16, tenant-scoped media).
// Intake (submitJobs) refuses a reference outside the scope with file_url_forbidden before any
// job exists; the extractor's S3 reader checks again before every read, so a forged or old queue
// message cannot read another tenant's object. Pure: no I/O, and never asks S3 whether an object
// exists, so a refused reference says nothing about which keys exist.
import type { SourcePolicy } from '../runtime-config';

/** Where all tenants' staging areas live in the media bucket: IAM grants the bucket below it only. */
export const TENANT_MEDIA_ROOT = 'tenants/';

/** Every tenant's own staging area in the media bucket; POST /v1/uploads hands out keys below it. */
export const tenantMediaPrefix = (tenantId: string): string => `${TENANT_MEDIA_ROOT}${tenantId}/`;

/**
 * One source a tenant may reference besides its own upload prefix: objects of `bucket` whose key
 * starts with `prefix` ('' = the whole bucket). Stored with the tenant, managed by
 * `metahook tenants allow-source|revoke-source`.
 */
export interface MediaSourceGrant {
  readonly bucket: string;
  readonly prefix: string;
}

export interface MediaScope {
  readonly tenantId: string;
  readonly grants: readonly MediaSourceGrant[];
}

export type ScopeCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * `.` and `..` segments, also when their dots or the separator were percent-encoded (the red
 * team's `..%2F` and `%2e%2e%2f`, which WHATWG parsing leaves alone). S3 keys are literal, but a
 * proxy, SDK, emulator or copy tool that normalises paths would read a different object than the
 * prefix check saw. Backslash counts as a separator: some tools treat it as one.
 */
export function hasDotSegment(decodedKey: string): boolean {
  return decodedKey.split(/[/\\]/).some((segment) => segment === '.' || segment === '..');
}

/** The same words for every refusal, so the answer never depends on the object or its owner. */
export const outOfScopeReason = (bucket: string, key: string, tenantId: string, sources: SourcePolicy): string =>
  `s3://${bucket}/${key} is outside this tenant's media scope (its upload prefix s3://${sources.mediaBucket}/${tenantMediaPrefix(tenantId)} and the sources an operator allowed for it)`;

/**
 * Whether a parsed s3 location (key percent-decoded) is inside the tenant's scope: its own prefix
 * of the media bucket, or a grant on a bucket the deployment may read at all (the IAM ceiling,
 * allowedSourceBuckets). A grant on the media bucket is never honoured: other tenants live there.
 */
export function checkMediaScope(
  location: { readonly bucket: string; readonly key: string },
  scope: MediaScope,
  sources: SourcePolicy,
): ScopeCheck {
  const { bucket, key } = location;
  const refused: ScopeCheck = { ok: false, reason: outOfScopeReason(bucket, key, scope.tenantId, sources) };
  if (hasDotSegment(key)) return refused;
  if (bucket === sources.mediaBucket) return key.startsWith(tenantMediaPrefix(scope.tenantId)) ? { ok: true } : refused;
  if (!sources.allowedSourceBuckets.includes(bucket)) return refused;
  return scope.grants.some((grant) => grant.bucket === bucket && key.startsWith(grant.prefix)) ? { ok: true } : refused;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses an operator's `s3://bucket/prefix` (or `bucket/prefix`) into a grant. A non-empty prefix
 * must end with `/` so `tenant-a` cannot also grant `tenant-ab/`; no dot segments.
 */
export function parseMediaSourceGrant(raw: string): MediaSourceGrant {
  const text = raw.trim().replace(/^s3:\/\//, '');
  const slash = text.indexOf('/');
  const bucket = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? '' : text.slice(slash + 1);
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw new Error(`"${bucket}" is not a valid S3 bucket name`);
  if (prefix !== '' && !prefix.endsWith('/')) throw new Error(`the prefix "${prefix}" must end with "/" (a folder), or be empty for the whole bucket`);
  if (hasDotSegment(prefix.slice(0, -1)) || prefix.startsWith('/')) throw new Error(`the prefix "${prefix}" must not contain ".", ".." or empty leading segments`);
  if (/[\u0000-\u001f\u007f\\]/.test(prefix)) throw new Error(`the prefix "${prefix}" contains control characters or a backslash`);
  return { bucket, prefix };
}

export const formatGrant = (grant: MediaSourceGrant): string => `s3://${grant.bucket}/${grant.prefix}`;
