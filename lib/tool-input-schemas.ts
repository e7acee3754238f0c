// Build time: the JSON Schema of the metadata tool's input, generated from the zod result schemas
// (lambdas/core/prompts modelOutputSchemas) and committed as lambdas/core/tool-input-schemas.json.
// The handlers read the JSON instead of converting at init: zod's JSON Schema generator is ~21 KB
// of every zod-using bundle, parsed at each cold start, for two objects that only change with the
// code (BENCHMARKS.md 6g). `npm run tool-schemas` rewrites the file; test/unit/tool-input-schemas
// fails while it is stale.
import { join } from 'node:path';
import { toJSONSchema } from 'zod/mini';
import { MEDIA_KINDS } from '../lambdas/core/api-schemas';
import { modelOutputSchemas } from '../lambdas/core/prompts';

export const TOOL_INPUT_SCHEMAS_FILE = join(import.meta.dirname, '..', 'lambdas', 'core', 'tool-input-schemas.json');

/** The committed file's text: per media kind, draft-07 (the dialect Bedrock tool specs accept) without `$schema`. */
export function renderToolInputSchemas(): string {
  const schemas = Object.fromEntries(
    MEDIA_KINDS.map((kind) => {
      const { $schema: _dialect, ...schema } = toJSONSchema(modelOutputSchemas[kind], { target: 'draft-7', io: 'input' });
      return [kind, schema];
    }),
  );
  return `${JSON.stringify(schemas, null, 2)}\n`;
}
