// Local stack: the AWS API emulators, in-process on 127.0.0.1. dynalite (DynamoDB; LevelDB
// on disk when a data directory is given) and fauxqs (SQS + S3, memory only; see snapshot.ts).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  const fauxqs = await startFauxqs({ port: 0, logger: false });
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
