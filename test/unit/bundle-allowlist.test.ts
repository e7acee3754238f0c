// Supply chain in `npm test`: every handler bundle (built like the CDK stack builds it) holds
// only the npm packages scripts/bundle-allowlist.json lists, and no dev-only package. The same
// check runs as `npx tsx scripts/check-bundles.ts` in CI.
import { describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { bundleReport, checkBundles, formatReport, installPathOf, loadAllowlist, packagesInBundle } from '../../scripts/check-bundles';

describe('handler bundles', () => {
  it('contain only allowlisted production packages', async () => {
    const reports = await checkBundles();
    // Printed so a failure (or a reviewer) sees sizes and package lists.
    console.info(formatReport(reports));
    expect(reports.map((r) => r.handler).sort()).toEqual(['callback', 'extractor', 'intake', 'jobsApi']);
    expect(reports.flatMap((r) => r.problems.map((problem) => `${r.handler}: ${problem}`))).toEqual([]);
    for (const report of reports) {
      // The runtime provides the SDK; nothing else may be left out of a bundle.
      expect(report.externals.every((path) => path.startsWith('@aws-sdk/') || path === 'sharp' || path === 'supports-color')).toBe(true);
      expect(report.packages.map((p) => p.name)).toContain('zod');
    }
  }, 30_000);

  it('fails a bundle whose package is not allowlisted, or is a devDependency', async () => {
    const allowlist = loadAllowlist();
    const lock = { 'node_modules/zod': { version: '4.6.7' } } as Record<string, { version?: string; dev?: boolean }>;
    const withoutZod = { ...allowlist, handlers: { ...allowlist.handlers, jobsApi: allowlist.handlers.jobsApi.filter((name) => name !== 'zod') } };
    const report = await bundleReport('jobsApi', withoutZod, lock, new Set());
    expect(report.problems).toEqual(expect.arrayContaining(['zod@4.6.7 is not on the jobsApi allowlist']));
    // Packages the (reduced) lockfile does not know count as dev-only.
    expect(report.problems.some((p) => p.startsWith('@middy/core (node_modules/@middy/core) is dev-only'))).toBe(true);

    const asDev = await bundleReport('jobsApi', allowlist, lock, new Set(['zod']));
    expect(asDev.problems).toContain('zod is a devDependency in package.json');
  }, 30_000);
});

describe('reading the metafile', () => {
  it('attributes each input to its innermost installed package', () => {
    expect(installPathOf('node_modules/zod/v4/core/core.js')).toBe('node_modules/zod');
    expect(installPathOf('node_modules/@middy/core/index.js')).toBe('node_modules/@middy/core');
    expect(installPathOf('node_modules/a/node_modules/@s/b/lib/x.js')).toBe('node_modules/a/node_modules/@s/b');
    expect(installPathOf('lambdas/core/errors.ts')).toBeUndefined();
  });

  it('sums bytes per package and flags what the lockfile marks dev-only', () => {
    const output = {
      bytes: 300,
      inputs: {
        'node_modules/zod/a.js': { bytesInOutput: 100 },
        'node_modules/zod/b.js': { bytesInOutput: 50 },
        'node_modules/debug/node_modules/supports-color/index.js': { bytesInOutput: 20 },
        'lambdas/core/errors.ts': { bytesInOutput: 130 },
      },
      imports: [],
      exports: [],
      entryPoint: 'x',
    } as unknown as Metafile['outputs'][string];
    const packages = packagesInBundle(output, {
      'node_modules/zod': { version: '4.6.7' },
      'node_modules/debug/node_modules/supports-color': { version: '7.2.0', dev: true },
    });
    expect(packages).toEqual([
      { name: 'supports-color', version: '7.2.0', installPath: 'node_modules/debug/node_modules/supports-color', bytes: 20, devOnly: true },
      { name: 'zod', version: '4.6.7', installPath: 'node_modules/zod', bytes: 150, devOnly: false },
    ]);
  });
});
