// The built-in shims lib/handler-bundling.ts aliases into every bundle: each must hand back the very
// module Node would (a wrong or missing shim would break every handler at import, or silently give
// it another module), and the list must say why each one is there: an ESM import of it loads more
// internal modules than require() does, which is the init cost the shims remove.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SHIMS } from '../../lib/handler-bundling';
import { REPO_ROOT } from '../../lib/constructs/pipeline-function';

const require = createRequire(import.meta.url);
const shimmed = Object.keys(BUILTIN_SHIMS).filter((name) => name.startsWith('node:'));

/** Internal modules a fresh Node process loads for `statement` (after the ESM loader is up). */
const modulesLoadedBy = (statement: string): number =>
  Number(execFileSync(process.execPath, ['--input-type=module', '-e', `
await import('data:text/javascript,export default 1');
const before = process.moduleLoadList.length;
${statement};
process.stdout.write(String(process.moduleLoadList.length - before));`], { encoding: 'utf8' }));

describe('built-in shims', () => {
  it('map both spellings of each built-in to a shim that returns that built-in', () => {
    for (const name of shimmed) {
      expect(BUILTIN_SHIMS[name.slice('node:'.length)]).toBe(BUILTIN_SHIMS[name]);
      expect(require(join(REPO_ROOT, BUILTIN_SHIMS[name]!))).toBe(process.getBuiltinModule(name));
    }
  });

  it.each(shimmed)('%s costs more to import as ESM than to require', (name) => {
    const viaImport = modulesLoadedBy(`await import('${name}')`);
    const viaShim = modulesLoadedBy(`process.getBuiltinModule('${name}')`);
    expect(viaImport).toBeGreaterThan(viaShim);
  });
});
