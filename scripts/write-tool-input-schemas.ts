// Regenerates lambdas/core/tool-input-schemas.json from the zod result schemas (lib/tool-input-schemas.ts).
// `--check` exits 1 instead of writing when the committed file is stale.
import { renderToolInputSchemas, TOOL_INPUT_SCHEMAS_FILE } from '../lib/tool-input-schemas';
import { writeOrCheckGenerated } from './lib/generated-file';

await writeOrCheckGenerated(TOOL_INPUT_SCHEMAS_FILE, renderToolInputSchemas(), 'npm run tool-schemas');
