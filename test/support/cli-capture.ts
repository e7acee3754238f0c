// Test support: runs the metahook CLI in-process (cli/run.ts) on a local stack's data directory
// and captures what it prints, one line per write, as an operator's terminal would show it.
import { runCli } from '../../cli/run';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCliCapturing(dataDir: string, argv: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => void (stdout += `${text}\n`),
    stderr: (text) => void (stderr += `${text}\n`),
    env: { METAHOOK_DATA_DIR: dataDir },
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}
