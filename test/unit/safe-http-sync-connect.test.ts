// lambdas/adapters/safe-http.ts: a connect that fails synchronously (issue 16) must end as an
// attempt result, never as an uncaught socket error. Without a network namespace we force the
// synchronous path by making the TCP binding's connect return ENETUNREACH at once, exactly what
// the kernel does on a host with no route for the address family. No packet is ever sent.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSafeHttpClient, pinnedLookup } from '../../lambdas/adapters/safe-http';

type ConnectFn = (...args: unknown[]) => number;
interface TcpPrototype {
  connect: ConnectFn;
  connect6: ConnectFn;
}
const UV_ENETUNREACH = -101;
// process.binding is deprecated but still the one seam under net.Socket's internalConnect.
const tcp = (process as unknown as { binding(name: string): { TCP: { prototype: TcpPrototype } } }).binding('tcp_wrap').TCP
  .prototype;
const original = { connect: tcp.connect, connect6: tcp.connect6 };
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeEach(() => {
  tcp.connect = () => UV_ENETUNREACH;
  tcp.connect6 = () => UV_ENETUNREACH;
  process.on('uncaughtException', onUncaught);
});
afterEach(() => {
  tcp.connect = original.connect;
  tcp.connect6 = original.connect6;
  process.off('uncaughtException', onUncaught);
});

describe('synchronous connect failure', () => {
  it.each([
    ['IPv6 over https', 'https://v6-only.callback.test/hook', '::1', 6],
    ['IPv4 over https', 'https://v4-only.callback.test/hook', '127.0.0.1', 4],
    ['IPv6 over http on loopback', 'http://localhost:8080/hook', '::1', 6],
  ] as const)('%s becomes a connect_failed attempt result', async (_label, url, address, family) => {
    const client = createSafeHttpClient({
      policy: { allowLoopbackHttp: true, allowedPorts: [443, 8080] },
      resolve: async () => [{ address, family }],
    });
    const result = await client.post({ url, headers: {}, body: '{}', timeoutMs: 2_000, maxResponseBytes: 1024 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(uncaught).toEqual([]);
    expect(result).toMatchObject({ kind: 'error', errorClass: 'connect_failed' });
  });

  it('fetchBytes rejects with connect_failed instead of crashing', async () => {
    const client = createSafeHttpClient({
      policy: { allowLoopbackHttp: true, allowedPorts: [443] },
      resolve: async () => [{ address: '::1', family: 6 }],
    });
    await expect(client.fetchBytes('https://media.test/a.jpg', { maxBytes: 10, timeoutMs: 2_000 })).rejects.toMatchObject({
      code: 'connect_failed',
    });
    expect(uncaught).toEqual([]);
  });

  it('the pinned lookup never answers synchronously', () => {
    const calls: unknown[] = [];
    pinnedLookup([{ address: '::1', family: 6 }])('x.test', {}, (...args: unknown[]) => calls.push(args));
    expect(calls).toEqual([]);
  });
});
