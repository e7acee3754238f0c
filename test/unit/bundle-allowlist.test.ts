// Supply chain in `npm test`: every handler bundle (built like the CDK stack builds it) holds
// only the npm packages scripts/bundle-allowlist.json lists, and no dev-only package. The same
// check runs as `npx tsx scripts/check-bundles.ts` in CI.
import { describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import semver from 'semver';
import { HANDLER_BUNDLING, MIN_BEDROCK_RUNTIME_SDK } from '../../lib/handler-bundling';
import { bundleReport, checkBundles, formatReport, installPathOf, loadAllowlist, packagesInBundle } from '../../scripts/check-bundles';

describe('handler bundles', () => {
  it('contain only allowlisted production packages', async () => {
    const reports = await checkBundles();
    // Printed so a failure (or a reviewer) sees sizes and package lists.
    console.info(formatReport(reports));
    expect(reports.map((r) => r.handler).sort()).toEqual(['callback', 'extractor', 'intake', 'jobsApi', 'sweeper', 'uploads']);
    expect(reports.flatMap((r) => r.problems.map((problem) => `${r.handler}: ${problem}`))).toEqual([]);
    for (const report of reports) {
      // Only the native sharp and the ffmpeg installer (its binary sits on disk beside the
      // bundle) may be left out of a bundle.
      expect(report.externals.every((path) => ['sharp', '@ffmpeg-installer/ffmpeg'].includes(path))).toBe(true);
      // Every handler that parses input validates it with zod; the sweeper's input is a schedule tick.
      if (report.handler !== 'sweeper') expect(report.packages.map((p) => p.name)).toContain('zod');
    }

    // Issue 11 item 2: no bundle may rely on the Lambda runtime's AWS SDK, whose version we do
    // not choose; an SDK older than 3.943.0 serialises a Converse audio block as `{}`.
    expect(HANDLER_BUNDLING.external.filter((pattern) => pattern.startsWith('@aws-sdk'))).toEqual([]);
    for (const report of reports) {
      expect(report.externals.filter((path) => path.startsWith('@aws-sdk/') || path.startsWith('@smithy/'))).toEqual([]);
      expect(report.packages.some((p) => p.name.startsWith('@aws-sdk/client-'))).toBe(true);
    }
    const bedrockClient = reports.find((r) => r.handler === 'extractor')!.packages.find((p) => p.name === '@aws-sdk/client-bedrock-runtime');
    expect(bedrockClient, 'the extractor bundles its Bedrock Runtime client').toBeDefined();
    expect(semver.gte(bedrockClient!.version, MIN_BEDROCK_RUNTIME_SDK)).toBe(true);
  }, 60_000);

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
