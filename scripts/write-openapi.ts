// Regenerates docs/openapi.json from the zod schemas and route list (lib/openapi.ts).
// `--check` exits 1 instead of writing when the committed file is stale (for CI).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderOpenApiDocument } from '../lib/openapi';

export const OPENAPI_FILE = join(import.meta.dirname, '..', 'docs', 'openapi.json');

const rendered = renderOpenApiDocument();
const committed = await readFile(OPENAPI_FILE, 'utf8').catch(() => '');
if (process.argv.includes('--check')) {
  if (committed !== rendered) {
    console.error('docs/openapi.json is stale: run npx tsx scripts/write-openapi.ts');
    process.exitCode = 1;
  }
} else if (committed === rendered) {
  console.log('docs/openapi.json is up to date');
} else {
  await writeFile(OPENAPI_FILE, rendered);
  console.log('wrote docs/openapi.json');
}
