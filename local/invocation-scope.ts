// Local stack: which function invocation is running, for test tooling that records or faults
// AWS calls per handler (test/support/aws-intercept.ts). No effect on the handlers themselves.
import { AsyncLocalStorage } from 'node:async_hooks';
import xray from 'aws-xray-sdk-core';
import { parseTraceHeader, processTracer } from '../lambdas/adapters/tracing';

export interface InvocationScope {
  readonly functionName: string;
  readonly requestId: string;
  /** The caller's trace (API Gateway passes X-Amzn-Trace-Id on); without one the invocation starts a trace. */
  readonly traceHeader?: string | undefined;
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
    invocationScope.run(scope, () => inInvocationSegment(scope, run)).then(
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

/**
 * The segment Lambda records for each invocation (the "facade" the handler's subsegments hang
 * from on AWS), so the handlers' Tracer finds one locally too; sent to the daemon stand-in.
 */
function inInvocationSegment<T>(scope: InvocationScope, run: () => Promise<T>): Promise<T> {
  if (!processTracer().isTracingEnabled()) return run();
  const parent = parseTraceHeader(scope.traceHeader);
  const segment = new xray.Segment(scope.functionName, parent?.root, parent?.parent);
  segment.origin = 'AWS::Lambda';
  segment.addAnnotation('request_id', scope.requestId);
  return xray.getNamespace().runAndReturn(async () => {
    xray.setSegment(segment);
    try {
      return await run();
    } finally {
      segment.close();
    }
  });
}
