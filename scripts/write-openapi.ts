// Regenerates docs/openapi.json from the zod schemas and route list (lib/openapi.ts).
// `--check` exits 1 instead of writing when the committed file is stale (for CI).
import { join } from 'node:path';
import { renderOpenApiDocument } from '../lib/openapi';
import { writeOrCheckGenerated } from './lib/generated-file';

export const OPENAPI_FILE = join(import.meta.dirname, '..', 'docs', 'openapi.json');

await writeOrCheckGenerated(OPENAPI_FILE, renderOpenApiDocument(), 'npm run openapi');
