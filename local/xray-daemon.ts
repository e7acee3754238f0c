// Local stack: the X-Ray daemon stand-in. The handlers' X-Ray SDK sends each finished segment as
// a UDP datagram to AWS_XRAY_DAEMON_ADDRESS, exactly as on Lambda (where the daemon forwards them
// to X-Ray); here they are kept in memory and appended to <dataDir>/traces.jsonl, so one job's
// trace can be read back (`npm run metahook -- trace <jobId>`, local/trace-view.ts).
// One socket per process: the SDK reads the daemon address once, when it is first loaded.
import { createSocket, type Socket } from 'node:dgram';
import { appendFileSync } from 'node:fs';
import xray from 'aws-xray-sdk-core';
import type { TraceDocument } from './trace-view';

export interface TraceCollector {
  /** `127.0.0.1:<port>`, the value of AWS_XRAY_DAEMON_ADDRESS. */
  readonly address: string;
  /** What arrived since this collector started, oldest first. */
  documents(): TraceDocument[];
  /** Resolves once `predicate` holds for the documents received (segments arrive after their work ends). */
  waitFor(predicate: (documents: TraceDocument[]) => boolean, timeoutMs?: number): Promise<TraceDocument[]>;
  stop(): void;
}

let shared: { socket: Socket; address: string; listeners: Set<(document: TraceDocument) => void> } | undefined;

async function sharedSocket(): Promise<NonNullable<typeof shared>> {
  if (shared) return shared;
  const socket = createSocket('udp4');
  const listeners = new Set<(document: TraceDocument) => void>();
  socket.on('message', (datagram) => {
    // `{"format":"json","version":1}\n<segment JSON>` (the SDK's segment_emitter.js)
    const text = datagram.toString('utf8');
    const body = text.slice(text.indexOf('\n') + 1);
    try {
      const document = JSON.parse(body) as TraceDocument;
      for (const listener of listeners) listener(document);
    } catch {
      // not a segment: ignore, as the daemon would
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  socket.unref();
  const address = `127.0.0.1:${socket.address().port}`;
  // The SDK may already be loaded (it reads the variable once): point it here as well.
  if (!process.env.AWS_XRAY_DAEMON_ADDRESS) xray.setDaemonAddress(address);
  shared = { socket, address, listeners };
  return shared;
}

/** Starts collecting segments; `file` (JSON lines) keeps them across runs for the CLI. */
export async function startTraceCollector(file?: string): Promise<TraceCollector> {
  const { address, listeners } = await sharedSocket();
  const received: TraceDocument[] = [];
  const waiters = new Set<() => void>();
  const listener = (document: TraceDocument) => {
    received.push(document);
    if (file) appendFileSync(file, JSON.stringify(document) + '\n');
    for (const wake of waiters) wake();
  };
  listeners.add(listener);
  return {
    address,
    documents: () => [...received],
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return;
          cleanup();
          resolve([...received]);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`trace documents did not arrive within ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    stop: () => {
      listeners.delete(listener);
    },
  };
}
