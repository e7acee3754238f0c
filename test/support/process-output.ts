// Test support: captures everything the process writes (stdout, stderr, the console) without
// echoing it, for tests that assert on what the handlers log.
import { format } from 'node:util';
import { vi } from 'vitest';

/** Starts capturing into `output`; returns the function that restores the streams and console. */
export function captureProcessOutput(output: string[]): () => void {
  const restores: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    restores.push(() => {
      stream.write = original;
    });
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void output.push(format(...args)));
    restores.push(() => spy.mockRestore());
  }
  return () => restores.forEach((restore) => restore());
}
