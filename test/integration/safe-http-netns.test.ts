// lambdas/adapters/safe-http.ts in an isolated network namespace (issue 16): a callback host
// whose only address cannot be reached fails its connect synchronously, which used to crash the
// whole process. The probe runs under `unshare -rn` (a fresh user + network namespace with only a
// downed loopback), so nothing it does can reach any network at all.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const probe = fileURLToPath(new URL('../support/connect-failure-probe.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

function namespacesAvailable(): { ok: true } | { ok: false; why: string } {
  const check = spawnSync('unshare', ['-rn', 'true'], { encoding: 'utf8' });
  if (check.error) return { ok: false, why: `unshare not runnable (${check.error.message})` };
  if (check.status !== 0) return { ok: false, why: `unshare -rn refused: ${check.stderr.trim()}` };
  return { ok: true };
}

const available = namespacesAvailable();
if (!available.ok) {
  // Visible in the test output, so a skipped run is never mistaken for a pass.
  console.warn(`safe-http-netns: SKIPPED, network namespaces unavailable here: ${available.why}`);
}

describe.skipIf(!available.ok)('guarded client in a namespace without a usable network', () => {
  it('turns every synchronous connect failure (IPv6 and IPv4) into an attempt result', () => {
    const run = spawnSync('unshare', ['-rn', tsx, probe], { encoding: 'utf8', timeout: 25_000 });
    expect(run.stderr).not.toMatch(/setServername|uncaught|Error:/i);
    expect(run.status).toBe(0);
    const results = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Array<{ kind: string; errorClass?: string; message?: string }>;
    expect(results).toHaveLength(3);
    for (const result of results) {
      expect(result).toMatchObject({ kind: 'error', errorClass: 'connect_failed' });
      // Our own message with the host name, not Node's (which names the internal address).
      expect(result.message).toMatch(/could not connect to (v6-only|v4-only)\.callback\.test|localhost/);
    }
  });
});
