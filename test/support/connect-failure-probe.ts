// Run inside an isolated network namespace (`unshare -rn`: only a loopback interface, and it is
// down) by test/integration/safe-http-netns.test.ts. Every connect fails at once there
// (EADDRNOTAVAIL for IPv6, ENETUNREACH for IPv4), which is what a host or Lambda without IPv6
// egress does for an IPv6-only callback host. Prints one JSON line of attempt results; the test
// fails if the process dies instead.
import { createSafeHttpClient } from '../../lambdas/adapters/safe-http';

const targets = [
  { url: 'https://v6-only.callback.test/hook', address: '::1', family: 6 as const },
  { url: 'https://v4-only.callback.test/hook', address: '127.0.0.1', family: 4 as const },
  { url: 'http://localhost:8080/hook', address: '::1', family: 6 as const },
];

const results = [];
for (const target of targets) {
  const client = createSafeHttpClient({
    policy: { allowLoopbackHttp: true, allowedPorts: [443, 8080] },
    resolve: async () => [{ address: target.address, family: target.family }],
  });
  results.push(
    await client.post({ url: target.url, headers: {}, body: '{}', timeoutMs: 2_000, maxResponseBytes: 1024 }),
  );
}
// Let any late socket 'error' event fire before we claim survival.
await new Promise((resolve) => setTimeout(resolve, 200));
process.stdout.write(`${JSON.stringify(results)}\n`);
