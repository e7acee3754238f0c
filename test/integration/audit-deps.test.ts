// npm run audit:deps against a real npm audit talking to a stand-in registry on 127.0.0.1:
// the database answers (advisory found / nothing found), or the endpoint refuses the way this
// machine's registry mirror does (405 on the bulk advisory POST), where the committed-snapshot
// fallback runs with a clear message and its own exit code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { auditDependencies, checkSnapshot, EXIT, lockedPackages, parseNpmAudit, type SnapshotAdvisory } from '../../scripts/audit-deps';

/** A project with one production and one dev-only package, as npm audit reads it from the lock alone. */
const LOCK = {
  name: 'audit-fixture',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'audit-fixture', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' }, devDependencies: { esbuild: '0.24.0' } },
    'node_modules/left-pad': { version: '1.3.0', resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz', license: 'WTFPL' },
    'node_modules/esbuild': { version: '0.24.0', resolved: 'https://registry.npmjs.org/esbuild/-/esbuild-0.24.0.tgz', dev: true, license: 'MIT' },
  },
};

const SNAPSHOT: { updated: string; advisories: SnapshotAdvisory[] } = {
  updated: '2026-12-02',
  advisories: [
    { id: 'GHSA-67mh-4wv8-2f99', package: 'esbuild', vulnerable: '<=0.24.2', severity: 'moderate', title: 'dev server CORS', url: 'https://github.com/advisories/GHSA-67mh-4wv8-2f99' },
  ],
};

let project: string;
let server: Server;
let registry: string;
let answer: (body: string) => { status: number; body: string };
const bulkRequests: string[] = [];

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'metahook-audit-'));
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'audit-fixture', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' }, devDependencies: { esbuild: '0.24.0' } }));
  await writeFile(join(project, 'package-lock.json'), JSON.stringify(LOCK));
  await writeFile(join(project, 'advisories.json'), JSON.stringify(SNAPSHOT));
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // npm gzips the bulk request body.
      const raw = Buffer.concat(chunks);
      const body = (request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      if (request.method === 'POST' && request.url?.startsWith('/-/npm/v1/security/advisories/bulk')) {
        bulkRequests.push(body);
        const reply = answer(body);
        response.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (project) await rm(project, { recursive: true, force: true });
});

async function audit(extra: { level?: 'low' | 'high' } = {}) {
  const lines: string[] = [];
  const code = await auditDependencies({
    cwd: project,
    level: extra.level ?? 'low',
    timeoutMs: 5_000,
    offlineOk: false,
    npmArgs: [`--registry=${registry}`, '--userconfig=/dev/null', '--cache', join(project, '.npm-cache')],
    snapshotPath: join(project, 'advisories.json'),
    print: (line) => lines.push(line),
  });
  return { code, output: lines.join('\n') };
}

describe('npm run audit:deps', () => {
  it('reports what the advisory database returns, and exits 1', async () => {
    answer = () => ({
      status: 200,
      body: JSON.stringify({
        'left-pad': [{ id: 1, url: 'https://github.com/advisories/GHSA-test-0000-0000', title: 'left-pad is too short', severity: 'high', vulnerable_versions: '<=1.3.0', cwe: [], cvss: { score: 7.5, vectorString: null } }],
      }),
    });
    const { code, output } = await audit();
    expect(JSON.parse(bulkRequests.at(-1)!)).toMatchObject({ 'left-pad': ['1.3.0'] });
    expect(output).toContain('npm audit (advisory database): 1 advisory match(es)');
    expect(output).toMatch(/high\s+left-pad@1\.3\.0 .*left-pad is too short/);
    expect(code).toBe(EXIT.found);
  }, 60_000);

  it('exits 0 when the database knows nothing at or above --level', async () => {
    answer = () => ({
      status: 200,
      body: JSON.stringify({ 'left-pad': [{ id: 2, url: 'https://example.invalid/a', title: 'minor', severity: 'low', vulnerable_versions: '<=1.3.0', cwe: [], cvss: { score: 2, vectorString: null } }] }),
    });
    const { code, output } = await audit({ level: 'high' });
    expect(output).toContain('npm audit (advisory database): no advisory at or above "high"');
    expect(code).toBe(EXIT.clean);
  }, 60_000);

  it('says it could not reach the advisory database, checks the snapshot, and finds the dev-only match', async () => {
    answer = () => ({ status: 405, body: '' });
    const { code, output } = await audit();
    expect(output).toContain('could not reach the advisory database (405 Method Not Allowed');
    expect(output).toContain('NOT a complete database');
    expect(output).toMatch(/moderate\s+esbuild@0\.24\.0 \(dev only\)\s+GHSA-67mh-4wv8-2f99/);
    expect(code).toBe(EXIT.found);
  }, 60_000);

  it('exits 3 when offline and the snapshot finds nothing (the check is incomplete)', async () => {
    answer = () => ({ status: 405, body: '' });
    await writeFile(join(project, 'advisories.json'), JSON.stringify({ ...SNAPSHOT, advisories: [] }));
    try {
      const { code, output } = await audit();
      expect(output).toContain('could not reach the advisory database');
      expect(output).toContain('snapshot: no advisory');
      expect(code).toBe(EXIT.unreachable);
    } finally {
      await writeFile(join(project, 'advisories.json'), JSON.stringify(SNAPSHOT));
    }
  }, 60_000);
});

describe('snapshot matching', () => {
  it('matches scoped and nested packages by semver range, not by name alone', () => {
    const packages = lockedPackages({
      packages: {
        '': { name: 'x' },
        'node_modules/esbuild': { version: '0.25.0' },
        'node_modules/a/node_modules/esbuild': { version: '0.24.2', dev: true },
        'node_modules/@scope/esbuild': { version: '0.1.0' },
      },
    });
    expect(checkSnapshot(packages, SNAPSHOT.advisories).map((f) => `${f.package}@${f.version}:${f.dev}`)).toEqual(['esbuild@0.24.2:true']);
    expect(() => checkSnapshot(packages, [{ ...SNAPSHOT.advisories[0]!, vulnerable: 'not a range' }])).toThrow('invalid range');
  });

  it('the committed snapshot is valid and the repository tree matches none of it', async () => {
    const committed = JSON.parse(await readFile(new URL('../../security/advisories.json', import.meta.url), 'utf8'));
    const lock = JSON.parse(await readFile(new URL('../../package-lock.json', import.meta.url), 'utf8'));
    expect(committed.advisories.length).toBeGreaterThan(0);
    for (const advisory of committed.advisories) expect(advisory.url).toMatch(/^https:\/\/github\.com\/advisories\/GHSA-/);
    expect(checkSnapshot(lockedPackages(lock), committed.advisories)).toEqual([]);
  });

  it('treats npm output without a report as an unreachable database', () => {
    expect(parseNpmAudit('{"message":"audit endpoint returned an error","statusCode":405}', 1, [])).toEqual({
      kind: 'unreachable',
      reason: 'audit endpoint returned an error',
    });
    expect(parseNpmAudit('', null, []).kind).toBe('unreachable');
  });
});
