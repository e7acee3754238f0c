// Domain: which secrets are sealed (SecretSealer port) and the encryption context that binds each
// sealed value to its tenant and purpose. KMS checks the context on every decrypt, and the IAM
// grants (lib/constructs/secret-custody.ts) allow decrypting per purpose, so who may open what
// is decided by these names. Use case helpers for signing secrets live here too.
import type { SecretSealer } from './ports';
import { isSealedSecret, type SealedSigningSecret, type SigningSecret, type StoredSigningSecret } from './records';

/** Every purpose a sealed value can have: the `purpose` entry of its encryption context. */
export const SEALING_PURPOSES = {
  /** Tenant webhook signing secrets (whsec_...): opened by the callback only. */
  signingSecret: 'webhook-signing-secret',
  /** A request's callback_headers (receiver credentials): sealed by the intake, opened by the callback. */
  callbackHeaders: 'callback-headers',
} as const;

export type SealingPurpose = (typeof SEALING_PURPOSES)[keyof typeof SEALING_PURPOSES];

/** The encryption context of a value sealed for one tenant and purpose (KMS logs it: never secret). */
export const sealingContext = (purpose: SealingPurpose, tenantId: string): Readonly<Record<string, string>> => ({
  purpose,
  tenant_id: tenantId,
});

export const signingSecretContext = (tenantId: string) => sealingContext(SEALING_PURPOSES.signingSecret, tenantId);

export async function sealSigningSecret(
  sealer: Pick<SecretSealer, 'seal'>,
  tenantId: string,
  secret: SigningSecret,
): Promise<SealedSigningSecret> {
  return { sealed: await sealer.seal(secret.secret, signingSecretContext(tenantId)), expires_at: secret.expires_at };
}

/** Seals what is still plaintext (an item from before sealing); sealed entries are kept as they are. */
export async function sealStoredSecrets(
  sealer: Pick<SecretSealer, 'seal'>,
  tenantId: string,
  stored: readonly StoredSigningSecret[],
): Promise<SealedSigningSecret[]> {
  return Promise.all(stored.map((entry) => (isSealedSecret(entry) ? Promise.resolve(entry) : sealSigningSecret(sealer, tenantId, entry))));
}

/**
 * Opens stored secrets for signing. A plaintext entry (not yet migrated) is used as it is, so
 * deliveries keep working during the migration window; `metahook tenants seal-secrets --check`
 * tells when none is left.
 */
export async function openStoredSecrets(
  sealer: Pick<SecretSealer, 'open'>,
  tenantId: string,
  stored: readonly StoredSigningSecret[],
): Promise<SigningSecret[]> {
  return Promise.all(
    stored.map(async (entry) =>
      isSealedSecret(entry) ? { secret: await sealer.open(entry.sealed, signingSecretContext(tenantId)), expires_at: entry.expires_at } : entry,
    ),
  );
}

export const isValidAt = (secret: { readonly expires_at: string | null }, now: Date): boolean =>
  secret.expires_at === null || Date.parse(secret.expires_at) > now.getTime();
