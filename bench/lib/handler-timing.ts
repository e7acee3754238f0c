// Bench support: measures time inside the real Lambda handlers (server-side latency and
// billed-duration estimates) by adding a middy middleware to the handler instances the local
// stack already imported. Bench-only: production code is untouched.

export type HandlerName = 'intake' | 'extractor' | 'callback';

export interface Invocation {
  readonly handler: HandlerName;
  /** performance.now() at entry. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** SQS records in the batch (1 for the API handler). */
  readonly records: number;
  readonly failed: boolean;
}

interface MiddyInstance {
  use(middleware: { before?: (request: any) => void; after?: (request: any) => void; onError?: (request: any) => void }): unknown;
}

export interface HandlerTimer {
  readonly invocations: Invocation[];
  reset(): void;
}

/** Loads the handler modules (already imported by startLocalStack, so the same instances) and times them. */
export async function timeHandlers(): Promise<HandlerTimer> {
  const modules: Record<HandlerName, MiddyInstance> = {
    intake: (await import('../../lambdas/intake/handler')).handler as unknown as MiddyInstance,
    extractor: (await import('../../lambdas/extractor/handler')).handler as unknown as MiddyInstance,
    callback: (await import('../../lambdas/callback/handler')).handler as unknown as MiddyInstance,
  };
  const timer: HandlerTimer = {
    invocations: [],
    reset() {
      timer.invocations.length = 0;
    },
  };
  for (const [name, handler] of Object.entries(modules) as Array<[HandlerName, MiddyInstance]>) {
    const started = new WeakMap<object, number>();
    const finish = (request: any, failed: boolean) => {
      const at = started.get(request);
      if (at === undefined) return;
      started.delete(request);
      const records = Array.isArray(request.event?.Records) ? request.event.Records.length : 1;
      timer.invocations.push({ handler: name, startedAt: at, durationMs: performance.now() - at, records, failed });
    };
    handler.use({
      before: (request) => {
        started.set(request, performance.now());
      },
      after: (request) => finish(request, false),
      onError: (request) => finish(request, true),
    });
  }
  return timer;
}
