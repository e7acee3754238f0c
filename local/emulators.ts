// Local stack: the AWS API emulators, in-process on 127.0.0.1. With a data directory both write
// every change through to disk before they answer, so a killed process loses nothing they
// acknowledged: dynalite (DynamoDB) into LevelDB, whose log reaches the OS on every write, and
// fauxqs 2 (SQS + S3) into SQLite (WAL), "all mutations are written through ... immediately".
import type { Server } from 'node:http';
import { Server as NetServer, type AddressInfo, type ListenOptions } from 'node:net';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFauxqs, type FauxqsServer } from 'fauxqs';

const require = createRequire(import.meta.url);
// dynalite ships CommonJS without types.
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export interface Emulators {
  readonly dynamoEndpoint: string;
  readonly awsEndpoint: string;
  readonly fauxqs: FauxqsServer;
  stop(): Promise<void>;
}

export async function startEmulators(options: { readonly dynamoPath?: string; readonly fauxqsPath?: string }): Promise<Emulators> {
  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dynamoPath ? { path: options.dynamoPath } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = dynamo.address() as AddressInfo;
  if (options.fauxqsPath) await keepMessagesMadeVisible();
  const fauxqs = await onLoopbackOnly(() => startFauxqs({ port: 0, host: '127.0.0.1', logger: false, ...(options.fauxqsPath ? { dataDir: options.fauxqsPath } : {}) }));
  return {
    dynamoEndpoint: `http://127.0.0.1:${port}`,
    awsEndpoint: `http://127.0.0.1:${fauxqs.port}`,
    fauxqs,
    async stop() {
      await fauxqs.stop();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}

/**
 * fauxqs (1.9 and 2.x) listens on 0.0.0.0 whatever `host` says (its `host` only shapes URLs), which
 * opens the local bucket and queues to the LAN. While it starts, any listen() on a wildcard or
 * missing host is rewritten to 127.0.0.1; nothing else starts listening in that window.
 */
export async function onLoopbackOnly<T>(start: () => Promise<T>): Promise<T> {
  // oxlint-disable-next-line typescript/unbound-method -- put back as is, and called with its own `this` below
  const original = NetServer.prototype.listen;
  const wildcard = (host: unknown) => host === undefined || host === null || host === '' || host === '0.0.0.0' || host === '::';
  NetServer.prototype.listen = function loopbackListen(this: NetServer, ...args: unknown[]) {
    const [first] = args;
    if (first !== null && typeof first === 'object' && !('fd' in first) && !('path' in first)) {
      const options = first as ListenOptions;
      if (wildcard(options.host)) args[0] = { ...options, host: '127.0.0.1' };
    } else if (typeof first === 'number' || typeof first === 'string') {
      if (typeof args[1] !== 'string' || wildcard(args[1])) {
        const rest = typeof args[1] === 'string' || args[1] === undefined ? args.slice(2) : args.slice(1);
        args = [first, '127.0.0.1', ...rest];
      }
    }
    return original.apply(this, args as never);
  } as typeof original;
  try {
    return await start();
  } finally {
    NetServer.prototype.listen = original;
  }
}

/**
 * fauxqs 2.4.1's SQLite write for "message visible again" (ChangeMessageVisibility to 0, as the
 * redrive CLI and a restart use) sets approximate_receive_count, a NOT NULL column, to NULL.
 * The write throws after the message has left the in-flight set and before it rejoins the
 * queue, so the message vanishes until the next restart and the SDK's retry gets
 * ReceiptHandleIsInvalid. Until fauxqs fixes it, that one write clears only the in-flight columns.
 * (The module is not exported, so it is found on disk; a fixed fauxqs is left untouched.)
 */
async function keepMessagesMadeVisible(): Promise<void> {
  const file = (require.resolve.paths('fauxqs') ?? [])
    .map((dir) => join(dir, 'fauxqs', 'dist', 'persistence.js'))
    .find((candidate) => existsSync(candidate));
  if (!file) return;
  const { PersistenceManager } = (await import(pathToFileURL(file).href)) as {
    PersistenceManager: { prototype: { updateMessageReady(this: SqliteOwner, messageId: string): void } };
  };
  // oxlint-disable-next-line typescript/unbound-method -- only its source text is read
  if (!String(PersistenceManager.prototype.updateMessageReady).includes('run(null, null, null, null,')) return;
  PersistenceManager.prototype.updateMessageReady = function updateMessageReady(this: SqliteOwner, messageId: string) {
    this.db.prepare('UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?').run(messageId);
  };
}

interface SqliteOwner {
  readonly db: { prepare(sql: string): { run(...values: unknown[]): unknown } };
}
