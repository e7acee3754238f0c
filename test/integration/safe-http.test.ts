// Integration tests for lambdas/adapters/safe-http.ts and http-media-source.ts against real
// servers on 127.0.0.1. Host names are mapped by an injected resolver; a guard on
// net.Socket#connect fails any test that would open a connection to a non-loopback address.
import dns from 'node:dns';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHttpMediaSource } from '../../lambdas/adapters/http-media-source';
import {
  FETCH_USER_AGENT,
  OutboundRequestError,
  WEBHOOK_USER_AGENT,
  createSafeHttpClient,
  type Resolver,
} from '../../lambdas/adapters/safe-http';
import { PermanentJobError, TransientJobError } from '../../lambdas/core/errors';
import type { OutboundPolicy } from '../../lambdas/runtime-config';

// ---------- the network guard ----------

const isLoopback = (address: string) => address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);
const refusedConnects: string[] = [];

beforeAll(() => {
  const originalConnect = net.Socket.prototype.connect;
  vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function guardedConnect(this: net.Socket, ...args: unknown[]) {
    // net.connect passes [options, cb] as one normalised array; direct calls pass options first.
    const first = args[0];
    const options = (Array.isArray(first) ? first[0] : first) as { host?: string; lookup?: net.LookupFunction } | number;
    if (typeof options === 'object' && options !== null) {
      if (options.host !== undefined && net.isIP(options.host) !== 0 && !isLoopback(options.host)) {
        refusedConnects.push(options.host);
        throw new Error(`test network guard: refusing a connection to ${options.host}`);
      }
      if (options.host !== undefined && net.isIP(options.host) === 0) {
        // Node resolves names itself when no lookup is given: guard that path too.
        const lookup = options.lookup ?? (dns.lookup as unknown as net.LookupFunction);
        options.lookup = ((hostname: string, lookupOptions: object, callback: (...results: unknown[]) => void) =>
          lookup(hostname, lookupOptions as never, ((error: Error | null, address: unknown, family?: number) => {
            const addresses = Array.isArray(address) ? (address as { address: string }[]).map((a) => a.address) : [address as string];
            const outside = addresses.find((candidate) => !isLoopback(candidate));
            if (error === null && outside !== undefined) {
              refusedConnects.push(outside);
              callback(new Error(`test network guard: refusing a connection to ${outside}`));
              return;
            }
            callback(error, address, family);
          }) as never)) as net.LookupFunction;
      }
    }
    return originalConnect.apply(this, args as never);
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  // No test may even try to leave the machine.
  expect(refusedConnects.splice(0)).toEqual([]);
});

// ---------- local servers ----------

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

interface TestServer {
  readonly port: number;
  readonly url: string;
  readonly seen: { connections: number; requests: SeenRequest[] };
  close(): Promise<void>;
}

const servers: TestServer[] = [];

async function listen(server: net.Server, seen: TestServer['seen'], closeAll: () => void): Promise<TestServer> {
  server.on('connection', () => {
    seen.connections += 1;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const testServer: TestServer = {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        closeAll();
        server.close(() => resolve());
      }),
  };
  servers.push(testServer);
  return testServer;
}

/** An HTTP server whose handler runs after the request body has been read and recorded. */
async function startHttpServer(handler: (request: http.IncomingMessage, response: http.ServerResponse) => void): Promise<TestServer> {
  const seen: TestServer['seen'] = { connections: 0, requests: [] };
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    seen.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
    handler(request, response);
  });
  return listen(server, seen, () => server.closeAllConnections());
}

/** A bare TCP server: counts connections and keeps the first bytes each one sends. */
async function startTcpServer(onData: (socket: net.Socket, data: Buffer) => void = () => undefined): Promise<TestServer> {
  const seen: TestServer['seen'] = { connections: 0, requests: [] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (data) => onData(socket, data));
  });
  return listen(server, seen, () => sockets.forEach((socket) => socket.destroy()));
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------- resolvers and policies ----------

const CLOUD = (...extraPorts: number[]): OutboundPolicy => ({ allowLoopbackHttp: false, allowedPorts: [443, ...extraPorts] });
const LOCAL = (...extraPorts: number[]): OutboundPolicy => ({ allowLoopbackHttp: true, allowedPorts: [443, ...extraPorts] });

/** A resolver from a fixed table that counts its calls; answers may change per call (rebinding). */
function tableResolver(table: Record<string, Array<Array<{ address: string; family: 4 | 6 }>>>) {
  const calls: string[] = [];
  const resolve: Resolver = async (hostname) => {
    calls.push(hostname);
    const answers = table[hostname];
    if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    const index = calls.filter((name) => name === hostname).length - 1;
    return answers[Math.min(index, answers.length - 1)]!;
  };
  return { resolve, calls };
}

const v4 = (address: string) => ({ address, family: 4 as const });

async function outboundError(promise: Promise<unknown>): Promise<OutboundRequestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OutboundRequestError);
  return error as OutboundRequestError;
}

// ---------- fetchBytes ----------

describe('fetchBytes', () => {
  it('fetches from a loopback server in local mode, resolving the name exactly once', async () => {
    const server = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/png', 'x-extra': 'yes' }).end('PNGDATA');
    });
    const { resolve, calls } = tableResolver({ 'media.localhost': [[v4('127.0.0.1')]] });
    const client = createSafeHttpClient({ policy: LOCAL(), resolve });

    const fetched = await client.fetchBytes(`http://media.localhost:${server.port}/a/b.png?x=1`, { maxBytes: 1024, timeoutMs: 2000 });

    expect(fetched.status).toBe(200);
    expect(Buffer.from(fetched.bytes).toString()).toBe('PNGDATA');
    expect(fetched.headers['content-type']).toBe('image/png');
    expect(calls).toEqual(['media.localhost']);
    expect(server.seen.requests).toHaveLength(1);
    expect(server.seen.requests[0]).toMatchObject({
      method: 'GET',
      url: '/a/b.png?x=1',
      headers: { host: `media.localhost:${server.port}`, 'user-agent': FETCH_USER_AGENT, 'accept-encoding': 'identity' },
    });
    expect(server.seen.requests[0]!.headers.authorization).toBeUndefined();
    expect(server.seen.requests[0]!.headers.cookie).toBeUndefined();
  });

  it('connects to the address it checked: a rebinding answer on a later lookup is never used', async () => {
    const server = await startHttpServer((_request, response) => response.end('ok'));
    // First answer passes the check; the second would be private. One lookup per request means
    // request 1 uses 127.0.0.1 and request 2 sees (and refuses) the private answer.
    const { resolve, calls } = tableResolver({ 'media.localhost': [[v4('127.0.0.1')], [v4('10.0.0.9')]] });
    const client = createSafeHttpClient({ policy: LOCAL(), resolve });
    const url = `http://media.localhost:${server.port}/file.jpg`;

    const first = await client.fetchBytes(url, { maxBytes: 1024, timeoutMs: 2000 });
    expect(first.status).toBe(200);
    expect(calls).toHaveLength(1);

    const refused = await outboundError(client.fetchBytes(url, { maxBytes: 1024, timeoutMs: 2000 }));
    expect(refused.code).toBe('forbidden_address');
    expect(refused.message).toMatch(/media\.localhost resolves to a forbidden address \(private\)/);
    expect(calls).toHaveLength(2);
    expect(server.seen.connections).toBe(1);
  });

  it('falls back only among the checked answers when the first does not answer', async () => {
    const server = await startHttpServer((_request, response) => response.end('second'));
    // Linux routes all of 127/8 to lo, but the server listens on 127.0.0.1 only.
    const { resolve, calls } = tableResolver({ 'media.localhost': [[v4('127.0.0.2'), v4('127.0.0.1')]] });
    const client = createSafeHttpClient({ policy: LOCAL(), resolve });

    const fetched = await client.fetchBytes(`http://media.localhost:${server.port}/a.jpg`, { maxBytes: 1024, timeoutMs: 2000 });

    expect(Buffer.from(fetched.bytes).toString()).toBe('second');
    expect(calls).toHaveLength(1);
  });

  it('refuses a name that resolves to loopback when loopback is not allowed, before any connection', async () => {
    const server = await startTcpServer();
    const { resolve, calls } = tableResolver({ 'files.example.test': [[v4('127.0.0.1')]] });
    const client = createSafeHttpClient({ policy: CLOUD(server.port), resolve });

    const error = await outboundError(
      client.fetchBytes(`https://files.example.test:${server.port}/photo.jpg`, { maxBytes: 1024, timeoutMs: 2000 }),
    );

    expect(error.code).toBe('forbidden_address');
    expect(error.message).toMatch(/\(loopback\)/);
    expect(calls).toEqual(['files.example.test']);
    expect(server.seen.connections).toBe(0);
  });

  it.each([
    ['[public, private]', [v4('93.184.215.14'), v4('10.0.0.5')], /\(private\)/],
    ['[private, public]', [v4('192.168.1.20'), v4('93.184.215.14')], /\(private\)/],
    ['[public, instance metadata]', [v4('93.184.215.14'), v4('169.254.169.254')], /\(instance-metadata\)/],
    ['[public, IPv6 unique-local]', [v4('93.184.215.14'), { address: 'fd00::1', family: 6 as const }], /\(unique-local\)/],
    ['[public, IPv4-mapped loopback]', [v4('93.184.215.14'), { address: '::ffff:127.0.0.1', family: 6 as const }], /\(ipv4-mapped\)/],
    ['[public, not an address]', [v4('93.184.215.14'), v4('0x7f.1')], /\(not-an-ip-address\)/],
  ])('refuses a name whose answers are %s', async (_label, answers, range) => {
    const { resolve, calls } = tableResolver({ 'files.example.test': [answers] });
    const client = createSafeHttpClient({ policy: CLOUD(), resolve });

    const error = await outboundError(client.fetchBytes('https://files.example.test/photo.jpg', { maxBytes: 1024, timeoutMs: 2000 }));

    expect(error.code).toBe('forbidden_address');
    expect(error.message).toMatch(range);
    expect(calls).toHaveLength(1);
  });

  it('in local mode refuses [loopback, private] and never connects to the loopback server', async () => {
    const server = await startTcpServer();
    const { resolve } = tableResolver({ 'files.example.test': [[v4('127.0.0.1'), v4('10.0.0.5')]] });
    const client = createSafeHttpClient({ policy: LOCAL(server.port), resolve });

    const error = await outboundError(
      client.fetchBytes(`https://files.example.test:${server.port}/photo.jpg`, { maxBytes: 1024, timeoutMs: 2000 }),
    );

    expect(error.code).toBe('forbidden_address');
    expect(server.seen.connections).toBe(0);
  });

  it('refuses http:// to a loopback name that resolves to a public address in local mode', async () => {
    const { resolve } = tableResolver({ 'media.localhost': [[v4('93.184.215.14')]] });
    const client = createSafeHttpClient({ policy: LOCAL(), resolve });

    const error = await outboundError(client.fetchBytes('http://media.localhost:8080/a.jpg', { maxBytes: 1024, timeoutMs: 2000 }));

    expect(error.code).toBe('forbidden_address');
    expect(error.message).toMatch(/must resolve to loopback only/);
  });

  it('re-checks the URL itself: forbidden URLs never reach the resolver', async () => {
    const { resolve, calls } = tableResolver({});
    const client = createSafeHttpClient({ policy: CLOUD(), resolve });
    for (const url of ['http://example.com/a.jpg', 'https://2130706433/a.jpg', 'https://u:p@example.com/a.jpg', 'https://example.com:8443/', 'file:///etc/passwd']) {
      const error = await outboundError(client.fetchBytes(url, { maxBytes: 1024, timeoutMs: 2000 }));
      expect(error.code).toBe('forbidden_url');
    }
    expect(calls).toEqual([]);
  });

  it('connects to an IP literal directly, without a lookup (loopback, local mode)', async () => {
    const server = await startHttpServer((_request, response) => response.end('literal'));
    const { resolve, calls } = tableResolver({});
    const client = createSafeHttpClient({ policy: LOCAL(), resolve });

    const fetched = await client.fetchBytes(`${server.url}/x.jpg`, { maxBytes: 1024, timeoutMs: 2000 });

    expect(Buffer.from(fetched.bytes).toString()).toBe('literal');
    expect(calls).toEqual([]);
    expect(server.seen.requests[0]!.headers.host).toBe(`127.0.0.1:${server.port}`);
  });

  it('returns a 302 as it is and never requests the redirect target', async () => {
    const target = await startHttpServer((_request, response) => response.end('secret'));
    const redirector = await startHttpServer((_request, response) => {
      response.writeHead(302, { location: `${target.url}/latest/meta-data/` }).end();
    });
    const client = createSafeHttpClient({ policy: LOCAL() });

    const fetched = await client.fetchBytes(`${redirector.url}/photo.jpg`, { maxBytes: 1024, timeoutMs: 2000 });

    expect(fetched.status).toBe(302);
    expect(fetched.headers.location).toBe(`${target.url}/latest/meta-data/`);
    expect(redirector.seen.requests).toHaveLength(1);
    expect(target.seen.connections).toBe(0);
  });

  it('aborts the download once the byte cap is exceeded (no Content-Length)', async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const limit = 64 * 1024 * 1024;
    let written = 0;
    let closedEarly = false;
    const server = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.on('close', () => {
        closedEarly = written < limit;
      });
      const pump = () => {
        while (written < limit && !response.destroyed) {
          written += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', pump);
            return;
          }
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    const client = createSafeHttpClient({ policy: LOCAL() });

    const error = await outboundError(client.fetchBytes(`${server.url}/huge.jpg`, { maxBytes: 100_000, timeoutMs: 5000 }));

    expect(error.code).toBe('too_large');
    await vi.waitFor(() => expect(closedEarly).toBe(true));
    expect(written).toBeLessThan(limit);
  });

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    const server = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
      response.write('x'); // and then nothing: a client that waited for the body would time out
    });
    const client = createSafeHttpClient({ policy: LOCAL() });
    const started = Date.now();

    const error = await outboundError(client.fetchBytes(`${server.url}/big.jpg`, { maxBytes: 1024, timeoutMs: 3000 }));

    expect(error.code).toBe('too_large');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const server = await startHttpServer((_request, response) => response.end(Buffer.alloc(1000, 1)));
    const client = createSafeHttpClient({ policy: LOCAL() });

    const fetched = await client.fetchBytes(`${server.url}/exact.jpg`, { maxBytes: 1000, timeoutMs: 2000 });

    expect(fetched.bytes.byteLength).toBe(1000);
  });

  it('gives up on a slow server at the total timeout, even though bytes keep arriving', async () => {
    const server = await startHttpServer((_request, response) => {
      response.writeHead(200);
      const timer = setInterval(() => response.write('.'), 50);
      response.on('close', () => clearInterval(timer));
    });
    const client = createSafeHttpClient({ policy: LOCAL() });
    const started = Date.now();

    const error = await outboundError(client.fetchBytes(`${server.url}/slow.jpg`, { maxBytes: 1_000_000, timeoutMs: 400 }));

    expect(error.code).toBe('timeout');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(2000);
  });

  it('times out when the server accepts but never answers', async () => {
    const server = await startTcpServer();
    const client = createSafeHttpClient({ policy: LOCAL() });

    const error = await outboundError(client.fetchBytes(`${server.url}/silent.jpg`, { maxBytes: 1024, timeoutMs: 300 }));

    expect(error.code).toBe('timeout');
    expect(server.seen.connections).toBe(1);
  });

  it('counts DNS time against the total timeout', async () => {
    const client = createSafeHttpClient({ policy: CLOUD(), resolve: () => new Promise(() => undefined) });
    const started = Date.now();

    const error = await outboundError(client.fetchBytes('https://files.example.test/a.jpg', { maxBytes: 1024, timeoutMs: 300 }));

    expect(error.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports resolver failures and empty answers as dns_failed', async () => {
    const failing = createSafeHttpClient({ policy: CLOUD(), resolve: tableResolver({}).resolve });
    const empty = createSafeHttpClient({ policy: CLOUD(), resolve: async () => [] });

    const notFound = await outboundError(failing.fetchBytes('https://nowhere.example.test/a.jpg', { maxBytes: 1, timeoutMs: 1000 }));
    const noAnswers = await outboundError(empty.fetchBytes('https://nowhere.example.test/a.jpg', { maxBytes: 1, timeoutMs: 1000 }));

    expect(notFound.code).toBe('dns_failed');
    expect(notFound.message).toMatch(/ENOTFOUND/);
    expect(noAnswers.code).toBe('dns_failed');
  });

  it('reports a refused connection as connect_failed', async () => {
    const port = await closedPort();
    const client = createSafeHttpClient({ policy: LOCAL() });

    const error = await outboundError(client.fetchBytes(`http://127.0.0.1:${port}/a.jpg`, { maxBytes: 1024, timeoutMs: 2000 }));

    expect(error.code).toBe('connect_failed');
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('reports a connection cut mid-body as network', async () => {
    const server = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('partial', () => response.socket?.destroy());
    });
    const client = createSafeHttpClient({ policy: LOCAL() });

    const error = await outboundError(client.fetchBytes(`${server.url}/cut.jpg`, { maxBytes: 5000, timeoutMs: 2000 }));

    expect(error.code).toBe('network');
  });

  it('over https, connects to the pinned address and sends the host name as TLS SNI', async () => {
    let clientHello: Buffer = Buffer.alloc(0);
    const server = await startTcpServer((socket, data) => {
      clientHello = data;
      socket.destroy(); // no certificate to offer: the handshake ends here
    });
    const { resolve, calls } = tableResolver({ 'files.example.test': [[v4('127.0.0.1')]] });
    const client = createSafeHttpClient({ policy: LOCAL(server.port), resolve });

    const error = await outboundError(
      client.fetchBytes(`https://files.example.test:${server.port}/a.jpg`, { maxBytes: 1024, timeoutMs: 2000 }),
    );

    expect(error.code).toBe('connect_failed');
    expect(server.seen.connections).toBe(1);
    expect(calls).toEqual(['files.example.test']);
    expect(clientHello[0]).toBe(0x16); // TLS handshake record
    expect(clientHello.includes(Buffer.from('files.example.test'))).toBe(true);
  });
});

// ---------- post (WebhookSender) ----------

describe('post', () => {
  const webhook = (url: string, overrides: Partial<Parameters<ReturnType<typeof createSafeHttpClient>['post']>[0]> = {}) => ({
    url,
    headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1', 'webhook-timestamp': '1700000000', 'webhook-signature': 'v1,abc' },
    body: '{"type":"job.completed"}',
    timeoutMs: 2000,
    maxResponseBytes: 1024,
    ...overrides,
  });

  it('POSTs the body with the caller headers and the fixed User-Agent', async () => {
    const server = await startHttpServer((_request, response) => response.writeHead(204, { 'x-receiver': 'ok' }).end());
    const client = createSafeHttpClient({ policy: LOCAL() });

    const result = await client.post(
      webhook(`${server.url}/hooks?tenant=1`, {
        headers: { 'Content-Type': 'application/json', 'webhook-id': 'msg_1', 'User-Agent': 'spoofed', Host: 'internal.example' },
      }),
    );

    expect(result).toMatchObject({ kind: 'response', status: 204, body: '', headers: { 'x-receiver': 'ok' } });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const seen = server.seen.requests[0]!;
    expect(seen).toMatchObject({ method: 'POST', url: '/hooks?tenant=1', body: '{"type":"job.completed"}' });
    expect(seen.headers).toMatchObject({
      'user-agent': WEBHOOK_USER_AGENT,
      host: `127.0.0.1:${server.port}`,
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'content-length': String(Buffer.byteLength('{"type":"job.completed"}')),
    });
  });

  it('truncates the response body to maxResponseBytes', async () => {
    const server = await startHttpServer((_request, response) => response.writeHead(500).end('e'.repeat(50_000)));
    const client = createSafeHttpClient({ policy: LOCAL() });

    const result = await client.post(webhook(`${server.url}/hooks`, { maxResponseBytes: 100 }));

    expect(result).toMatchObject({ kind: 'response', status: 500, body: 'e'.repeat(100) });
  });

  it('returns a 3xx as a response and does not follow it', async () => {
    const target = await startHttpServer((_request, response) => response.end());
    const redirector = await startHttpServer((_request, response) => response.writeHead(307, { location: `${target.url}/` }).end());
    const client = createSafeHttpClient({ policy: LOCAL() });

    const result = await client.post(webhook(`${redirector.url}/hooks`));

    expect(result).toMatchObject({ kind: 'response', status: 307 });
    expect(target.seen.connections).toBe(0);
  });

  it.each([
    ['forbidden_url', 'http://example.com/hooks'],
    ['forbidden_url', 'https://169.254.169.254/latest/meta-data/'],
  ])('returns kind error (%s) instead of throwing for %s', async (errorClass, url) => {
    const client = createSafeHttpClient({ policy: CLOUD() });

    const result = await client.post(webhook(url));

    expect(result).toMatchObject({ kind: 'error', errorClass });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('returns kind error forbidden_address for a name that resolves to a private address', async () => {
    const { resolve } = tableResolver({ 'hooks.example.test': [[v4('10.1.2.3')]] });
    const client = createSafeHttpClient({ policy: CLOUD(), resolve });

    const result = await client.post(webhook('https://hooks.example.test/hooks'));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'forbidden_address' });
  });

  it('returns kind error for a refused connection and for a timeout', async () => {
    const port = await closedPort();
    const silent = await startTcpServer();
    const client = createSafeHttpClient({ policy: LOCAL() });

    const refused = await client.post(webhook(`http://127.0.0.1:${port}/hooks`));
    const slow = await client.post(webhook(`${silent.url}/hooks`, { timeoutMs: 300 }));

    expect(refused).toMatchObject({ kind: 'error', errorClass: 'connect_failed' });
    expect(slow).toMatchObject({ kind: 'error', errorClass: 'timeout' });
    expect(slow.durationMs).toBeGreaterThanOrEqual(250);
  });
});

// ---------- http-media-source ----------

describe('createHttpMediaSource', () => {
  async function fetchWith(status: number, headers: Record<string, string> = {}, body = '') {
    const server = await startHttpServer((_request, response) => response.writeHead(status, headers).end(body));
    const source = createHttpMediaSource(createSafeHttpClient({ policy: LOCAL() }), { timeoutMs: 2000 });
    return source.fetch(`${server.url}/file.jpg`, { maxBytes: 1024 }).then(
      (media) => ({ media, error: undefined }),
      (error: unknown) => ({ media: undefined, error }),
    );
  }

  it('returns the bytes and the claimed content type', async () => {
    const { media } = await fetchWith(200, { 'content-type': 'image/jpeg' }, 'JPEGBYTES');
    expect(Buffer.from(media!.bytes).toString()).toBe('JPEGBYTES');
    expect(media!.contentType).toBe('image/jpeg');
  });

  it.each([
    [404, PermanentJobError, 'file_not_found'],
    [410, PermanentJobError, 'file_not_found'],
    [403, PermanentJobError, 'file_fetch_failed'],
    [400, PermanentJobError, 'file_fetch_failed'],
    [302, PermanentJobError, 'file_fetch_failed'],
    [429, TransientJobError, 'file_fetch_failed'],
    [500, TransientJobError, 'file_fetch_failed'],
    [503, TransientJobError, 'file_fetch_failed'],
  ])('maps HTTP %i to %o %s', async (status, errorType, code) => {
    const { error } = await fetchWith(status, status === 302 ? { location: '/elsewhere.jpg' } : {});
    expect(error).toBeInstanceOf(errorType);
    expect(error).toMatchObject({ code });
  });

  it('passes Retry-After on to the transient error', async () => {
    const { error } = await fetchWith(503, { 'retry-after': '7' });
    expect(error).toBeInstanceOf(TransientJobError);
    expect((error as TransientJobError).retryAfterSeconds).toBe(7);
  });

  it('maps too_large, forbidden, timeout and refused connections', async () => {
    const big = await startHttpServer((_request, response) => response.end(Buffer.alloc(5000)));
    const silent = await startTcpServer();
    const port = await closedPort();
    const { resolve } = tableResolver({ 'files.example.test': [[v4('127.0.0.1')]] });
    const local = createHttpMediaSource(createSafeHttpClient({ policy: LOCAL() }), { timeoutMs: 300 });
    const cloud = createHttpMediaSource(createSafeHttpClient({ policy: CLOUD(), resolve }), { timeoutMs: 300 });
    const attempt = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

    const tooLarge = await attempt(local.fetch(`${big.url}/big.jpg`, { maxBytes: 1000 }));
    const forbidden = await attempt(cloud.fetch('https://files.example.test/a.jpg', { maxBytes: 1000 }));
    const forbiddenUrl = await attempt(cloud.fetch('http://files.example.test/a.jpg', { maxBytes: 1000 }));
    const timedOut = await attempt(local.fetch(`${silent.url}/a.jpg`, { maxBytes: 1000 }));
    const refused = await attempt(local.fetch(`http://127.0.0.1:${port}/a.jpg`, { maxBytes: 1000 }));

    expect(tooLarge).toBeInstanceOf(PermanentJobError);
    expect(tooLarge).toMatchObject({ code: 'file_too_large' });
    expect(forbidden).toBeInstanceOf(PermanentJobError);
    expect(forbidden).toMatchObject({ code: 'file_url_forbidden' });
    expect(forbiddenUrl).toMatchObject({ code: 'file_url_forbidden' });
    expect(timedOut).toBeInstanceOf(TransientJobError);
    expect(timedOut).toMatchObject({ code: 'file_fetch_failed' });
    expect(refused).toBeInstanceOf(TransientJobError);
    expect(refused).toMatchObject({ code: 'file_fetch_failed' });
  });
});
