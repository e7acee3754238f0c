// Test support: intercepts every AWS SDK v3 call made in this process (the handlers' module-scope
// clients included) with a middleware at the start of each client's stack, before the SDK's own
// retries. Three uses, each an Interceptor: recording which calls each handler makes
// (recordCalls), injecting faults into one chosen call (injectFault), and enforcing SQS limits
// the emulator does not check (sqs-limits.ts).
//
// The function making a call is known from local/invocation-scope.ts (the local gateway and
// pollers run each invocation inside it); calls outside any invocation have functionName null.
import { SQSClient } from '@aws-sdk/client-sqs';
import { invocationScope } from '../../local/invocation-scope';

export interface AwsCall {
  /** e.g. 'SQS', 'DynamoDB', 'S3'. */
  readonly service: string;
  /** e.g. 'SendMessageBatch', 'PutItem' (DocumentClient calls show their DynamoDB operation). */
  readonly operation: string;
  readonly functionName: string | null;
  /** The invocation making the call (null outside one). */
  readonly requestId: string | null;
  readonly input: Record<string, any>;
}

/** Sees the call before it is sent; `next` sends it (and any SDK retries) and returns `{ output, response }`. */
export type Interceptor = (call: AwsCall, next: () => Promise<any>) => Promise<any>;

const interceptors: Interceptor[] = [];
const instrumented = new WeakSet<object>();
let installed = false;

const serviceOf = (clientName: string | undefined) => (clientName ?? 'Unknown').replace(/Client$/, '').replace(/^DynamoDBDocument$/, 'DynamoDB');
const DOCUMENT_OPERATIONS: Record<string, string> = {
  Put: 'PutItem',
  Get: 'GetItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchWrite: 'BatchWriteItem',
  BatchGet: 'BatchGetItem',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
};
const operationOf = (commandName: string | undefined) => {
  const bare = (commandName ?? 'Unknown').replace(/Command$/, '');
  return DOCUMENT_OPERATIONS[bare] ?? bare;
};

function install(): void {
  if (installed) return;
  installed = true;
  // Every v3 client extends the same smithy Client class; patching its send reaches clients
  // that already exist (handlers build theirs at import).
  const base = Object.getPrototypeOf(SQSClient.prototype) as { send: (...args: any[]) => any };
  const originalSend = base.send;
  base.send = function patchedSend(this: { middlewareStack: any }, ...args: any[]) {
    const stack = this.middlewareStack;
    if (stack && !instrumented.has(stack)) {
      instrumented.add(stack);
      stack.add(
        (next: (args: any) => Promise<any>, context: { clientName?: string; commandName?: string }) =>
          async (mwArgs: { input: Record<string, any> }) => {
            if (interceptors.length === 0) return next(mwArgs);
            const call: AwsCall = {
              service: serviceOf(context.clientName),
              operation: operationOf(context.commandName),
              functionName: invocationScope.getStore()?.functionName ?? null,
              requestId: invocationScope.getStore()?.requestId ?? null,
              input: mwArgs.input,
            };
            const chain = interceptors.reduceRight<() => Promise<any>>(
              (inner, interceptor) => () => interceptor(call, inner),
              () => next(mwArgs),
            );
            return chain();
          },
        { step: 'initialize', priority: 'high', name: 'metahookTestIntercept', override: true },
      );
    }
    return originalSend.apply(this, args);
  };
}

/** Adds an interceptor (outermost last added); returns the function that removes it. */
export function intercept(interceptor: Interceptor): () => void {
  install();
  interceptors.push(interceptor);
  return () => {
    const index = interceptors.indexOf(interceptor);
    if (index >= 0) interceptors.splice(index, 1);
  };
}

export interface CallRecording {
  readonly calls: AwsCall[];
  /** Distinct `function service:operation` pairs, in first-seen order. */
  distinct(): { functionName: string; service: string; operation: string; count: number }[];
  stop(): void;
}

/** Records every call made inside a function invocation (that `match` accepts). */
export function recordCalls(match: (call: AwsCall) => boolean = () => true): CallRecording {
  const calls: AwsCall[] = [];
  const stop = intercept(async (call, next) => {
    if (call.functionName && match(call)) calls.push(call);
    return next();
  });
  return {
    calls,
    stop,
    distinct() {
      const seen = new Map<string, { functionName: string; service: string; operation: string; count: number }>();
      for (const call of calls) {
        const key = `${call.functionName} ${call.service}:${call.operation}`;
        const entry = seen.get(key) ?? { functionName: call.functionName!, service: call.service, operation: call.operation, count: 0 };
        entry.count++;
        seen.set(key, entry);
      }
      return [...seen.values()];
    },
  };
}

/**
 * How the chosen call fails:
 * - `before`: refused before it is sent (nothing happened on the server), as a 500 would be;
 * - `after`: sent and committed, then reported as failed (the response was lost);
 * - `hang`: never returns, as when the function dies or times out mid-call (the invocation is
 *   abandoned by the local runtime's timeout, so nothing after the call runs);
 * - `stall`: answers late: held for `stallMs`, then sent and answered normally, as a call on a
 *   slow connection that no SDK timeout ended. The code waiting on it carries on when it answers,
 *   also after the invocation that made it has returned.
 */
export type FaultMode = 'before' | 'after' | 'hang' | 'stall';

export interface FaultSpec {
  readonly functionName: string;
  readonly service: string;
  readonly operation: string;
  /** 1 = the first such call by that function after the fault was armed (among matching calls). */
  readonly occurrence: number;
  readonly mode: FaultMode;
  /** Only calls this accepts count (e.g. calls about one tenant, so other work cannot take the fault). */
  readonly match?: (call: AwsCall) => boolean;
  /**
   * For `hang`: the function's timeout. Lambda resets the execution environment after a timeout,
   * so nothing the invocation started survives it; here the hung call fails after this long and
   * every later call of that invocation fails before sending (no side effects after its death),
   * which also releases promises other invocations share (caches). Default: hang forever.
   */
  readonly hangMs?: number;
  /** For `stall`: how long the call is held before it is sent. */
  readonly stallMs?: number;
}

/** What an SDK caller sees for an injected failure: a retryable-looking 500 service error. */
export class InjectedFault extends Error {
  override readonly name = 'InternalFailure';
  readonly $fault = 'server';
  readonly $metadata = { httpStatusCode: 500, attempts: 1 };
  constructor(spec: FaultSpec) {
    super(`injected ${spec.mode} fault on ${spec.service}:${spec.operation} #${spec.occurrence} in ${spec.functionName}`);
  }
}

export interface ArmedFault {
  /** True once the chosen call happened (and failed). */
  fired(): boolean;
  disarm(): void;
}

/** Invocations a `hang` fault ended: their later calls never reach AWS. */
const deadInvocations = new Set<string>();

export class InvocationEnded extends Error {
  override readonly name = 'InvocationEnded';
}

export function injectFault(spec: FaultSpec): ArmedFault {
  let seen = 0;
  let fired = false;
  const disarm = intercept(async (call, next) => {
    if (call.requestId && deadInvocations.has(call.requestId)) {
      throw new InvocationEnded(`invocation ${call.requestId} timed out; ${call.service}:${call.operation} never sent`);
    }
    if (fired || call.functionName !== spec.functionName || call.service !== spec.service || call.operation !== spec.operation) {
      return next();
    }
    if (spec.match && !spec.match(call)) return next();
    seen++;
    if (seen !== spec.occurrence) return next();
    fired = true;
    if (spec.mode === 'before') throw new InjectedFault(spec);
    if (spec.mode === 'after') {
      await next();
      throw new InjectedFault(spec);
    }
    if (spec.mode === 'stall') {
      await new Promise((resolve) => setTimeout(resolve, spec.stallMs ?? 0));
      return next();
    }
    if (spec.hangMs === undefined) return new Promise(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, spec.hangMs));
    if (call.requestId) deadInvocations.add(call.requestId);
    throw new InvocationEnded(`invocation timed out during ${call.service}:${call.operation}`);
  });
  return { fired: () => fired, disarm };
}
