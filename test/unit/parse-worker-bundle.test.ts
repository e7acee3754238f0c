// The metadata parser worker as the extractor's Lambda bundle ships it: the exact esbuild command
// the CDK afterBundling hook runs (lib/handler-bundling.ts companionBundleCommand) writes
// metadata-parse-worker.mjs, the parser module is bundled beside it like the handler, and a parse
// through the bundled pair works (the bundled code finds the .mjs next to itself, not the .ts).
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { CDK_BUNDLING } from '../../bench/cold-start';
import { REPO_ROOT } from '../../lib/constructs/pipeline-function';
import { COMPANION_BUNDLES, companionBundleCommand } from '../../lib/handler-bundling';
import { resolveSettings } from '../../lib/settings';
import { imageMetadataContainer } from '../../lambdas/adapters/metadata-parser/image-metadata-segments';
import type * as ParserModule from '../../lambdas/adapters/metadata-parser/metadata-parser';

const out = mkdtempSync(join(tmpdir(), 'metahook-parse-worker-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bundled metadata parser worker', () => {
  it('the companion command builds the worker and a bundled parser uses it', async () => {
    const companions = COMPANION_BUNDLES.extractor ?? [];
    expect(companions.map((companion) => companion.file)).toEqual(['metadata-parse-worker.mjs']);
    for (const companion of companions) execSync(companionBundleCommand(REPO_ROOT, companion, out), { stdio: 'pipe' });
    await build({
      ...CDK_BUNDLING,
      mainFields: [...CDK_BUNDLING.mainFields],
      external: [...CDK_BUNDLING.external],
      entryPoints: [join(REPO_ROOT, 'lambdas/adapters/metadata-parser/metadata-parser.ts')],
      outfile: join(out, 'index.mjs'),
    });

    const bundled = (await import(pathToFileURL(join(out, 'index.mjs')).href)) as typeof ParserModule;
    const parser = new bundled.MetadataParser(resolveSettings().decode);
    try {
      const photo = new Uint8Array(readFileSync(join(REPO_ROOT, 'test/fixtures/photo-iptc.jpg')));
      const segments = await parser.parseImage(imageMetadataContainer(photo, 'jpeg', 1024 * 1024).bytes!);
      expect(segments.iptc?.Caption).toBe('Sun over a green hill under a clear blue sky');
      expect(segments.ifd0?.Model).toBe('Canon EOS 5D Mark IV');
    } finally {
      await parser.close();
    }
  }, 120_000);
});
