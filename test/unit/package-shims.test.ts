// The package shims the Lambda bundles use instead of semver and debug (lib/handler-bundling.ts
// PACKAGE_SHIMS): each must behave like the real package for what its importers call, and
// scripts/check-bundles.ts must refuse a bundle in which anything else imports one.
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import realSemver from 'semver';
import { afterEach, describe, expect, it, vi } from 'vitest';
import createDebug from '../../lib/bundle-shims/debug-off';
import { gte } from '../../lib/bundle-shims/semver-gte';
import { HANDLER_ENTRIES } from '../../lib/constructs/pipeline-function';
import { PACKAGE_SHIMS } from '../../lib/handler-bundling';
import { bundleMetafile, shimImportProblems } from '../../scripts/check-bundles';

const VERSIONS = [
  '0.0.0', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '10.0.0', '1.10.0', '1.2.10', '3.12.0', '2.1000.0',
  '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1',
  '1.0.0+build.5', 'v1.0.0', '=1.0.0', ' 2.0.0 ', '1.0.0-0', '1.0.0-1a', '1.0.0-a1',
  '01.0.0', '1.0.0-01', '1.0.0-a_b', 'v 1.0.0', '1.0', '1.0.0.0',
];

describe('semver shim', () => {
  it('agrees with semver.gte on every pair of a table of releases, pre-releases and build metadata', () => {
    const outcome = (compare: () => boolean) => {
      try {
        return compare();
      } catch (error) {
        return (error as Error).name;
      }
    };
    const disagreements: string[] = [];
    for (const a of VERSIONS) {
      for (const b of VERSIONS) {
        const [ours, theirs] = [outcome(() => gte(a, b)), outcome(() => realSemver.gte(a, b))];
        if (ours !== theirs) disagreements.push(`gte(${JSON.stringify(a)}, ${JSON.stringify(b)}): ${ours} vs semver ${theirs}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('throws a TypeError on what semver calls an invalid version', () => {
    for (const bad of ['1.0', 'x.y.z', '', '1.0.0.0']) {
      expect(() => realSemver.gte(bad, '1.0.0')).toThrow(TypeError);
      expect(() => gte(bad, '1.0.0')).toThrow(TypeError);
    }
  });
});

describe('debug shim', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hands out loggers that write nothing, even with DEBUG set', () => {
    const writes = vi.spyOn(process.stderr, 'write');
    const previous = process.env.DEBUG;
    process.env.DEBUG = '*';
    try {
      const debug = createDebug('tokenizer:inflate');
      expect(debug('Reading central-directory...')).toBeUndefined();
      expect(debug.enabled).toBe(false);
      expect(debug.extend('zip').namespace).toBe('tokenizer:inflate:zip');
      expect(createDebug.enabled('tokenizer:inflate')).toBe(false);
    } finally {
      if (previous === undefined) delete process.env.DEBUG;
      else process.env.DEBUG = previous;
    }
    expect(writes).not.toHaveBeenCalled();
  });
});

describe('who may import a shimmed package', () => {
  it('sees, in a real bundle, the one import each shim stands in for, and none of the real package', async () => {
    const metafile = await bundleMetafile(HANDLER_ENTRIES.extractor, join('package-shims', 'index.mjs'));
    const importersOf = (shim: string) =>
      Object.entries(metafile.inputs)
        .filter(([, { imports }]) => imports.some(({ path }) => path === shim.replace(/^\.\//, '')))
        .map(([input]) => input);
    expect(importersOf(PACKAGE_SHIMS.semver!.shim)).toEqual(['node_modules/aws-xray-sdk-core/dist/lib/patchers/aws_p.js']);
    expect(importersOf(PACKAGE_SHIMS.debug!.shim)).toEqual(['node_modules/@tokenizer/inflate/lib/ZipHandler.js']);
    expect(Object.keys(metafile.inputs).filter((input) => /node_modules\/(semver|debug)\//.test(input))).toEqual([]);
    expect(shimImportProblems(metafile)).toEqual([]);
  }, 30_000);

  const metafileImporting = (importer: string, shim: string, original: string) =>
    ({ inputs: { [importer]: { bytes: 1, imports: [{ path: shim.replace(/^\.\//, ''), kind: 'require-call', original }] } }, outputs: {} }) as unknown as Metafile;

  it('accepts the importers the shim was written for', () => {
    const { shim } = PACKAGE_SHIMS.semver!;
    expect(shimImportProblems(metafileImporting('node_modules/aws-xray-sdk-core/dist/lib/patchers/aws_p.js', shim, 'semver'))).toEqual([]);
  });

  it('refuses any other importer, which would get the sliver instead of the package', () => {
    const { shim } = PACKAGE_SHIMS.semver!;
    const problems = shimImportProblems(metafileImporting('node_modules/some-lib/index.js', shim, 'semver'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('node_modules/some-lib/index.js imports semver');
    // Our own code may not lean on a shim either.
    expect(shimImportProblems(metafileImporting('lambdas/core/version.ts', PACKAGE_SHIMS.debug!.shim, 'debug'))).toHaveLength(1);
  });
});
