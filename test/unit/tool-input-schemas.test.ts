// Unit: the metadata tool's JSON Schema is generated at build time (lib/tool-input-schemas.ts),
// not at init. The committed file must match the zod schemas it comes from, and the generator must
// stay out of the handler bundles (scripts/check-bundles.ts BUILD_TIME_ONLY).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderToolInputSchemas, TOOL_INPUT_SCHEMAS_FILE } from '../../lib/tool-input-schemas';
import { buildTimeOnlyProblems, bundleMetafile } from '../../scripts/check-bundles';
import { HANDLER_ENTRIES } from '../../lib/constructs/pipeline-function';
import { metadataToolFor } from '../../lambdas/core/prompts';

describe('metadata tool input schemas', () => {
  it('are up to date with the zod result schemas (regenerate: npm run tool-schemas)', () => {
    expect(readFileSync(TOOL_INPUT_SCHEMAS_FILE, 'utf8')).toBe(renderToolInputSchemas());
  });

  it('are what the tool sends', () => {
    const committed = JSON.parse(readFileSync(TOOL_INPUT_SCHEMAS_FILE, 'utf8'));
    expect(metadataToolFor('image').inputSchema).toEqual(committed.image);
    expect(metadataToolFor('audio').inputSchema).toEqual(committed.audio);
  });

  it("keep zod's JSON Schema generator out of the extractor bundle, and the check sees it when it is in", async () => {
    const extractor = await bundleMetafile(HANDLER_ENTRIES.extractor, 'tool-schemas/extractor.mjs');
    expect(buildTimeOnlyProblems(extractor)).toEqual([]);
    // The build-time module itself does pull the generator in: the check is not vacuous.
    const generator = await bundleMetafile('lib/tool-input-schemas.ts', 'tool-schemas/generator.mjs');
    expect(buildTimeOnlyProblems(generator)).toEqual([expect.stringContaining('node_modules/zod/v4/core/to-json-schema.js is build-time only')]);
  }, 60_000);
});
