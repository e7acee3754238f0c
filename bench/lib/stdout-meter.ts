// Bench support: the handlers log at INFO as deployed (CloudWatch Logs is billed per byte).
// This swallows the bench child's stdout and counts the bytes, so log volume per file is measured
// and the terminal is not flooded. Results travel in a file, never on stdout.

export interface StdoutMeter {
  readonly bytes: number;
  reset(): void;
  restore(): void;
}

export function meterStdout(): StdoutMeter {
  const original = process.stdout.write;
  let bytes = 0;
  process.stdout.write = function meteredWrite(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    if (callback) queueMicrotask(callback);
    return true;
  } as typeof process.stdout.write;
  return {
    get bytes() {
      return bytes;
    },
    reset() {
      bytes = 0;
    },
    restore() {
      process.stdout.write = original;
    },
  };
}
