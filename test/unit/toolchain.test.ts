// The Node that runs the tests is the pinned devDependency `node` (npm scripts put
// node_modules/.bin first on PATH), the same major as the Lambda runtime the bundles target.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HANDLER_BUNDLING } from '../../lib/handler-bundling';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const major = (version: string): number => Number(/(\d+)/.exec(version)?.[1]);

describe('toolchain', () => {
  it('runs on the pinned Node, the Lambda runtime major', () => {
    console.log(`tests run on Node ${process.version} (${process.execPath})`);
    const pinned = pkg.devDependencies.node;
    expect(pinned, 'devDependencies.node is an exact version').toMatch(/^\d+\.\d+\.\d+$/);
    expect(process.versions.node).toBe(pinned);
    expect(`node${major(process.version)}`).toBe(HANDLER_BUNDLING.target);
  });

  it('satisfies its own engines range', () => {
    const floor = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(floor, 'engines.node is a ">=MAJOR.MINOR" floor').not.toBeNull();
    const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
    expect(maj > Number(floor![1]) || (maj === Number(floor![1]) && min >= Number(floor![2]))).toBe(true);
  });
});
