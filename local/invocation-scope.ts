// Local stack: which function invocation is running, for test tooling that records or faults
// AWS calls per handler (test/support/aws-intercept.ts). No effect on the handlers themselves.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface InvocationScope {
  readonly functionName: string;
  readonly requestId: string;
}

export const invocationScope = new AsyncLocalStorage<InvocationScope>();

/** Thrown (locally) when an invocation outlives its function timeout, as Lambda would end it. */
export class InvocationTimeout extends Error {
  override readonly name = 'InvocationTimeout';
}

/**
 * Runs one invocation inside its scope and gives up on it after `timeoutMs`, like Lambda ending a
 * function at its timeout: the caller sees a failure and whatever the invocation still had to do
 * never happens (a hung promise is simply abandoned).
 */
export function invokeWithTimeout<T>(scope: InvocationScope, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new InvocationTimeout(`${scope.functionName} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    invocationScope.run(scope, run).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
