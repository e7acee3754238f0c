// Local stack: the AWS API emulators, in-process on 127.0.0.1. dynalite (DynamoDB; LevelDB
// on disk when a data directory is given) and fauxqs (SQS + S3, memory only; see snapshot.ts).
import type { Server } from 'node:http';
import { Server as NetServer, type AddressInfo, type ListenOptions } from 'node:net';
import { createRequire } from 'node:module';
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

export async function startEmulators(options: { readonly dynamoPath?: string }): Promise<Emulators> {
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
  const fauxqs = await onLoopbackOnly(() => startFauxqs({ port: 0, host: '127.0.0.1', logger: false }));
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
 * fauxqs 1.9 listens on 0.0.0.0 whatever `host` says (its `host` only shapes URLs), which
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
