// Standard Webhooks signing (https://www.standardwebhooks.com): the callback use case
// signs each attempt here. Tests verify the output with the official `standardwebhooks`
// package, so this code is checked against the spec, not against itself.
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

export class InvalidSigningSecretError extends Error {
  override readonly name = 'InvalidSigningSecretError';
}

/** A new tenant signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new InvalidSigningSecretError('signing secret must start with whsec_');
  }
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < 24) throw new InvalidSigningSecretError('signing secret is too short');
  return key;
}

export interface SignedHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/**
 * Signs `id.timestamp.body` with every given secret. During a secret rotation both the new
 * and the previous secret sign, space-separated, as the spec allows; receivers accept either.
 */
export function signWebhook(input: {
  readonly id: string;
  readonly timestamp: Date;
  readonly body: string;
  readonly secrets: readonly string[];
}): SignedHeaders {
  if (input.secrets.length === 0) throw new InvalidSigningSecretError('no signing secret');
  const timestamp = Math.floor(input.timestamp.getTime() / 1000).toString();
  const signedContent = `${input.id}.${timestamp}.${input.body}`;
  const signatures = input.secrets.map(
    (secret) => `v1,${createHmac('sha256', secretKey(secret)).update(signedContent).digest('base64')}`,
  );
  return {
    'webhook-id': input.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
  };
}
