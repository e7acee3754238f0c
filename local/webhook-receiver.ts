// A real webhook receiver on 127.0.0.1 for the demo and the integration tests. Verifies
// every request with the official standardwebhooks package (not our own code) and answers
// as the caller scripts it.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly payload: { type: string; id: string; created_at: string; data: Record<string, any> } | undefined;
  readonly signatureValid: boolean;
  readonly receivedAt: number;
  readonly path: string;
}

export interface ScriptedReply {
  readonly status: number;
  readonly delayMs?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** Decides the answer to the n-th delivery (0-based) of the same webhook-id. Default: 200. */
  reply: (request: ReceivedWebhook, index: number) => ScriptedReply;
  waitFor(predicate: (all: ReceivedWebhook[]) => boolean, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(signingSecret: string): Promise<WebhookReceiver> {
  const verifier = new Webhook(signingSecret);
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const receiver: WebhookReceiver = {
    url: '',
    received,
    reply: () => ({ status: 200 }),
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(received)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(received);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`webhook wait timed out after ${timeoutMs} ms with ${received.length} received`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: async () => undefined,
  };
  const receive = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let payload: ReceivedWebhook['payload'];
    let signatureValid = false;
    try {
      payload = verifier.verify(body, req.headers as Record<string, string>) as ReceivedWebhook['payload'];
      signatureValid = true;
    } catch {
      try {
        payload = JSON.parse(body);
      } catch {
        payload = undefined;
      }
    }
    const entry: ReceivedWebhook = { headers: req.headers, body, payload, signatureValid, receivedAt: Date.now(), path: req.url ?? '/' };
    const index = received.filter((r) => r.headers['webhook-id'] === entry.headers['webhook-id']).length;
    received.push(entry);
    const answer = receiver.reply(entry, index);
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (!res.destroyed) {
      res.writeHead(answer.status, answer.headers ?? { 'content-type': 'text/plain' });
      res.end(answer.body ?? 'ok');
    }
    for (const waiter of waiters) waiter();
  };
  // A sender that aborts mid-body rejects the read: drop that connection, keep the receiver up.
  const server: Server = createServer((req, res) => void receive(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
