// Adapter: SecretSealer on KMS envelope encryption. seal() asks KMS for a fresh AES-256 data key
// (GenerateDataKey, bound to the caller's encryption context), encrypts the value locally with
// AES-256-GCM and stores the KMS-encrypted data key beside the ciphertext; open() has KMS decrypt
// the data key (Decrypt, same context) and reverses it. Only a principal KMS lets decrypt under
// that context can read the value; anyone else who reads the table sees this string only.
// Same code on AWS and locally (local/key-service.ts speaks the same KMS JSON protocol).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { SecretSealer } from '../core/ports';
import { ENV, requireEnv } from '../runtime-config';
import { createKmsClient } from './aws-clients';

/**
 * Version 1: `metahook:sealed:v1:<encrypted data key>:<iv>:<ciphertext+tag>`, each part standard
 * base64 (no `_`, so a sealed value can never contain `whsec_`). A new format gets a new version
 * and open() keeps reading the old ones.
 */
export const SEALED_PREFIX_V1 = 'metahook:sealed:v1:';

export const isSealed = (value: string): boolean => value.startsWith('metahook:sealed:');

export type SecretSealingErrorCode = 'sealed_value_malformed' | 'sealed_value_rejected' | 'sealing_context_invalid';

/** Never carries the plaintext or the data key; the KMS error (if any) is its cause. */
export class SecretSealingError extends Error {
  override readonly name = 'SecretSealingError';
  constructor(
    readonly code: SecretSealingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The context in one canonical spelling (sorted keys): the GCM associated data, and a cache key. */
export function canonicalContext(context: Readonly<Record<string, string>>): string {
  const entries = Object.keys(context)
    .sort()
    .map((key) => [key, context[key]]);
  return JSON.stringify(entries);
}

function checkContext(context: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(context);
  // An empty context would bind the value to nothing: a sealed value could be moved anywhere.
  if (entries.length === 0) throw new SecretSealingError('sealing_context_invalid', 'encryption context must not be empty');
  for (const [key, value] of entries) {
    if (typeof value !== 'string' || key === '' || value === '') {
      throw new SecretSealingError('sealing_context_invalid', `encryption context entry "${key}" must be a non-empty string`);
    }
  }
  return Object.fromEntries(entries);
}

const associatedData = (context: Readonly<Record<string, string>>) => Buffer.from(`${SEALED_PREFIX_V1}${canonicalContext(context)}`);

export interface KmsSecretSealerOptions {
  /** ARN (or id) of the KMS key that encrypts the data keys. */
  readonly keyId: string;
}

export function createKmsSecretSealer(kms: KMSClient, options: KmsSecretSealerOptions): SecretSealer {
  const KeyId = options.keyId;
  return {
    async seal(plaintext, context) {
      const EncryptionContext = checkContext(context);
      const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256', EncryptionContext }));
      if (!dataKey.Plaintext || !dataKey.CiphertextBlob) {
        throw new SecretSealingError('sealed_value_rejected', 'KMS GenerateDataKey returned no data key');
      }
      const key = Buffer.from(dataKey.Plaintext);
      try {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        cipher.setAAD(associatedData(EncryptionContext));
        const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
        const parts = [Buffer.from(dataKey.CiphertextBlob), iv, body].map((part) => part.toString('base64'));
        return `${SEALED_PREFIX_V1}${parts.join(':')}`;
      } finally {
        key.fill(0);
        dataKey.Plaintext.fill(0);
      }
    },

    async open(sealed, context) {
      const EncryptionContext = checkContext(context);
      if (!sealed.startsWith(SEALED_PREFIX_V1)) {
        throw new SecretSealingError('sealed_value_malformed', 'not a sealed value of a known version');
      }
      const parts = sealed.slice(SEALED_PREFIX_V1.length).split(':');
      const [encryptedKey, iv, body] = parts.map((part) => Buffer.from(part, 'base64'));
      if (parts.length !== 3 || !encryptedKey?.length || iv?.length !== IV_BYTES || !body || body.length < TAG_BYTES) {
        throw new SecretSealingError('sealed_value_malformed', 'sealed value is truncated or has the wrong number of parts');
      }
      let dataKey: Uint8Array;
      try {
        // KeyId pins the key: a ciphertext of some other key in the account is refused, not decrypted.
        const decrypted = await kms.send(new DecryptCommand({ KeyId, CiphertextBlob: encryptedKey, EncryptionContext }));
        if (!decrypted.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
        dataKey = decrypted.Plaintext;
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        // InvalidCiphertextException is also what KMS answers for a context that does not match.
        if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
          throw new SecretSealingError('sealed_value_rejected', `KMS refused the data key (${name}): wrong key or context`, { cause: error });
        }
        throw error;
      }
      const key = Buffer.from(dataKey);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(associatedData(EncryptionContext));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new SecretSealingError('sealed_value_rejected', 'sealed value failed its integrity check', { cause: error });
      } finally {
        key.fill(0);
        dataKey.fill(0);
      }
    },
  };
}

/**
 * The sealer a handler builds once per cold start: the stack's secrets key (METAHOOK_SECRETS_KEY_ID),
 * KMS at AWS_ENDPOINT_URL_KMS when set (the local key service). Opening is cached per warm
 * container by the caller (cached-secret-sealer.ts) where it opens.
 * @public The handlers' wiring is its user; that wiring lands from the `secrets` branch.
 */
export function createSecretSealerFromEnv(env: Record<string, string | undefined>): SecretSealer {
  return createKmsSecretSealer(createKmsClient(env), { keyId: requireEnv(env, ENV.secretsKeyId) });
}
