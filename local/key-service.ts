// Local stack: a KMS stand-in on 127.0.0.1 for the SDK's KMS client (JSON 1.1 protocol,
// X-Amz-Target: TrentService.<Operation>). Exactly the operations the handlers and CLI use:
// GenerateDataKey and Decrypt, each with its encryption context, which is checked the way KMS
// checks it (a Decrypt under any other context fails with InvalidCiphertextException).
// Not a security boundary: the key material sits in the data directory (mode 0600) so sealed
// values survive a restart; who may call which operation is proven by the IAM simulation.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface LocalKeyService {
  readonly endpoint: string;
  /** ARN of the one key this service holds, in the local account. */
  readonly keyArn: string;
  stop(): Promise<void>;
}

export interface LocalKeyServiceOptions {
  /** Keeps the key material across restarts; in memory when absent. */
  readonly dataDir?: string;
  /** @default us-east-1 */
  readonly region?: string;
}

/** The account the local stack's ARNs use. */
const LOCAL_ACCOUNT = '000000000000';
const MAX_BODY_BYTES = 64 * 1024;
/** Our own ciphertext blob: magic, key id length, key id, iv, tag, encrypted data key. */
const BLOB_MAGIC = Buffer.from('MHK1');

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface StoredKey {
  readonly keyId: string;
  readonly material: string;
}

async function loadOrCreateKey(dataDir: string | undefined): Promise<{ keyId: string; material: Buffer }> {
  const file = dataDir ? join(dataDir, 'kms-key.json') : undefined;
  if (file && existsSync(file)) {
    const stored = JSON.parse(await readFile(file, 'utf8')) as StoredKey;
    return { keyId: stored.keyId, material: Buffer.from(stored.material, 'base64') };
  }
  const key = { keyId: randomUUID(), material: randomBytes(32) };
  if (file) {
    const stored: StoredKey = { keyId: key.keyId, material: key.material.toString('base64') };
    await writeFile(file, JSON.stringify(stored) + '\n', { mode: 0o600 });
  }
  return key;
}

/** KMS binds a ciphertext to its context as a whole, order of keys aside. */
const contextAad = (context: unknown): Buffer => {
  if (context === undefined || context === null) return Buffer.from('[]');
  if (typeof context !== 'object' || Array.isArray(context)) throw new KmsError('ValidationException', 'EncryptionContext must be a map');
  const entries = Object.entries(context as Record<string, unknown>);
  for (const [, value] of entries) {
    if (typeof value !== 'string') throw new KmsError('ValidationException', 'EncryptionContext values must be strings');
  }
  return Buffer.from(JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
};

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new KmsError('ValidationException', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new KmsError('SerializationException', 'request body is not a JSON object');
  }
}

export async function startLocalKeyService(options: LocalKeyServiceOptions = {}): Promise<LocalKeyService> {
  const region = options.region ?? 'us-east-1';
  const { keyId, material } = await loadOrCreateKey(options.dataDir);
  const keyArn = `arn:aws:kms:${region}:${LOCAL_ACCOUNT}:key/${keyId}`;

  const requireOurKey = (value: unknown, type = 'NotFoundException') => {
    if (value === undefined) return;
    if (value !== keyArn && value !== keyId) throw new KmsError(type, `Key '${String(value)}' does not exist`);
  };

  const operations: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
    GenerateDataKey(input) {
      if (input.KeyId === undefined) throw new KmsError('ValidationException', 'KeyId is required');
      requireOurKey(input.KeyId);
      const bytes = input.KeySpec === 'AES_256' ? 32 : input.KeySpec === 'AES_128' ? 16 : Number(input.NumberOfBytes);
      if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) {
        throw new KmsError('ValidationException', 'KeySpec or NumberOfBytes (1 to 1024) is required');
      }
      const plaintext = randomBytes(bytes);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', material, iv);
      cipher.setAAD(contextAad(input.EncryptionContext));
      const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const id = Buffer.from(keyId);
      const blob = Buffer.concat([BLOB_MAGIC, Buffer.from([id.length]), id, iv, cipher.getAuthTag(), encrypted]);
      return { KeyId: keyArn, Plaintext: plaintext.toString('base64'), CiphertextBlob: blob.toString('base64') };
    },

    Decrypt(input) {
      if (typeof input.CiphertextBlob !== 'string') throw new KmsError('ValidationException', 'CiphertextBlob is required');
      const blob = Buffer.from(input.CiphertextBlob, 'base64');
      const invalid = () => new KmsError('InvalidCiphertextException', 'ciphertext, key or encryption context do not match');
      if (blob.length < 5 || !blob.subarray(0, 4).equals(BLOB_MAGIC)) throw invalid();
      const idLength = blob[4]!;
      const blobKeyId = blob.subarray(5, 5 + idLength).toString();
      const rest = blob.subarray(5 + idLength);
      if (rest.length < 28) throw invalid();
      // Like KMS: a KeyId in the request that is not the ciphertext's key is IncorrectKeyException.
      if (input.KeyId !== undefined) requireOurKey(input.KeyId);
      if (blobKeyId !== keyId) throw input.KeyId === undefined ? invalid() : new KmsError('IncorrectKeyException', 'the ciphertext was not encrypted under this key');
      const decipher = createDecipheriv('aes-256-gcm', material, rest.subarray(0, 12));
      decipher.setAAD(contextAad(input.EncryptionContext));
      decipher.setAuthTag(rest.subarray(12, 28));
      try {
        const plaintext = Buffer.concat([decipher.update(rest.subarray(28)), decipher.final()]);
        return { KeyId: keyArn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      } catch {
        throw invalid();
      }
    },
  };

  const reply = (response: ServerResponse, status: number, body: Record<string, unknown>) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    response.end(JSON.stringify(body));
  };

  const server = createServer((request, response) => {
    void (async () => {
      try {
        const target = String(request.headers['x-amz-target'] ?? '');
        const operation = target.startsWith('TrentService.') ? operations[target.slice('TrentService.'.length)] : undefined;
        if (request.method !== 'POST' || !operation) {
          throw new KmsError('UnknownOperationException', `the local key service does not implement ${target || request.method}`);
        }
        reply(response, 200, operation(await readBody(request)));
      } catch (error) {
        const kmsError = error instanceof KmsError ? error : new KmsError('KMSInternalException', 'internal error', 500);
        reply(response, kmsError.status, { __type: kmsError.type, message: kmsError.message });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    keyArn,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
