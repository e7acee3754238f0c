// A committed file generated from code (docs/openapi.json, lambdas/core/tool-input-schemas.json):
// rewrites it when it differs, or with `--check` exits 1 instead of writing.
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { REPO_ROOT } from '../../lib/constructs/pipeline-function';

export async function writeOrCheckGenerated(file: string, rendered: string, regenerateCommand: string): Promise<void> {
  const name = relative(REPO_ROOT, file);
  const committed = await readFile(file, 'utf8').catch(() => '');
  if (process.argv.includes('--check')) {
    if (committed !== rendered) {
      console.error(`${name} is stale: run ${regenerateCommand}`);
      process.exitCode = 1;
    }
  } else if (committed === rendered) {
    console.log(`${name} is up to date`);
  } else {
    await writeFile(file, rendered);
    console.log(`wrote ${name}`);
  }
}
