// Bench support: counts every AWS SDK call made in the bench process (handlers, pollers,
// gateway emulation) by wrapping `send` on the SDK clients' shared base prototype. The
// handlers run in-process, so this sees exactly what they would send to AWS. DynamoDB calls
// also ask for ReturnConsumedCapacity so the cost model can use measured capacity units.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';

/** Who made the call. `event-source` is the SQS poller (Lambda's event source mapping on AWS). */
export type CallOrigin =
  | 'intake'
  | 'extractor'
  | 'callback'
  | 'jobs-api'
  | 'sweeper'
  | 'event-source'
  | 'gateway-emulation'
  | 'bench'
  | 'unknown';

export type Service = 'DynamoDB' | 'SQS' | 'S3' | 'Bedrock' | 'Other';

/** What a DynamoDB item is, read from its key (see lambdas/adapters/dynamo/keys.ts). */
export type Entity = 'job' | 'job delivery' | 'attempt' | 'batch' | 'progress' | 'dedupe' | 'idempotency' | 'tenant' | 'apikey' | 'other';

export interface CallStat {
  readonly origin: CallOrigin;
  readonly service: Service;
  readonly operation: string;
  count: number;
  errors: number;
  conditionalFailures: number;
  /** Refused conditional writes by `<item> <ConditionExpression>`: which guard refused, to explain the count. */
  conditionalFailuresBy: Record<string, number>;
  totalMs: number;
  /** Capacity units the emulator reported (base table only; GSIs are added by the cost model). */
  capacityUnits: number;
  /** Write capacity units by the entity written, for the GSI write amplification. */
  writeUnitsByEntity: Partial<Record<Entity, number>>;
}

const DOCUMENT_OPERATIONS: Record<string, string> = {
  Put: 'PutItem',
  Get: 'GetItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchWrite: 'BatchWriteItem',
  BatchGet: 'BatchGetItem',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
};

const CAPACITY_OPERATIONS = new Set(['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'BatchGetItem', 'Query', 'Scan']);
export const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export function entityOf(key: { pk?: unknown; sk?: unknown } | undefined): Entity {
  const pk = typeof key?.pk === 'string' ? key.pk : '';
  const sk = typeof key?.sk === 'string' ? key.sk : '';
  if (sk.startsWith('ATTEMPT#')) return 'attempt';
  if (sk === 'JOB') return 'job';
  if (sk === 'DELIVERY') return 'job delivery';
  if (sk === 'BATCH') return 'batch';
  if (sk === 'PROGRESS') return 'progress';
  if (sk === 'DEDUPE') return 'dedupe';
  if (sk === 'IDEMPOTENCY') return 'idempotency';
  if (sk === 'TENANT') return 'tenant';
  if (sk === 'APIKEY' || pk.startsWith('APIKEY#')) return 'apikey';
  return 'other';
}

function serviceOf(client: object): Service {
  if (client instanceof DynamoDBClient || client instanceof DynamoDBDocumentClient) return 'DynamoDB';
  if (client instanceof SQSClient) return 'SQS';
  if (client instanceof S3Client) return 'S3';
  if (client instanceof BedrockRuntimeClient) return 'Bedrock';
  return 'Other';
}

function operationOf(command: object): string {
  const name = command.constructor.name.replace(/Command$/, '');
  return DOCUMENT_OPERATIONS[name] ?? name;
}

/** Entities a write touches: one per item (BatchWrite) or the single key/item. */
function writtenEntities(operation: string, input: Record<string, any>): Entity[] {
  if (operation === 'BatchWriteItem') {
    return Object.values(input.RequestItems ?? {}).flatMap((requests) =>
      (requests as Array<Record<string, any>>).map((r) => entityOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key)),
    );
  }
  return [entityOf(input.Item ?? input.Key)];
}

const ORIGIN_PATTERNS: ReadonlyArray<[RegExp, CallOrigin]> = [
  [/lambdas\/intake\//, 'intake'],
  [/lambdas\/extractor\//, 'extractor'],
  [/lambdas\/callback\//, 'callback'],
  [/lambdas\/jobs-api\//, 'jobs-api'],
  // The local stack runs the sweeper every 60 s: a bench run longer than that sees its calls.
  [/lambdas\/sweeper\//, 'sweeper'],
  [/local\/sqs-poller/, 'event-source'],
  [/local\/(gateway|api-key-registry)/, 'gateway-emulation'],
  [/bench\//, 'bench'],
];

export interface AwsCallCounter {
  /** Marks a client the bench knows (the poller's, the gateway's, its own). */
  label(client: object, origin: CallOrigin): void;
  /** Starts a fresh count; returns nothing so phases cannot mix. */
  reset(): void;
  snapshot(): CallStat[];
  uninstall(): void;
}

/**
 * Installs the counter. Each client is attributed once, from the async stack of its first
 * call (handler clients are built per handler module, so one client = one handler).
 */
export function installAwsCallCounter(): AwsCallCounter {
  const base = Object.getPrototypeOf(SQSClient.prototype) as { send: (...args: any[]) => Promise<any> };
  const bases = new Set([base]);
  for (const ctor of [DynamoDBClient, DynamoDBDocumentClient, S3Client, BedrockRuntimeClient]) {
    bases.add(Object.getPrototypeOf(ctor.prototype));
  }
  const originals = new Map([...bases].map((b) => [b, b.send] as const));
  const origins = new WeakMap<object, CallOrigin>();
  let stats = new Map<string, CallStat>();

  function originOf(client: object): CallOrigin {
    const known = origins.get(client);
    if (known) return known;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 200;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    // The first (innermost) frame that names a handler or a local component decides.
    for (const line of stack.split('\n').slice(1)) {
      if (line.includes('bench/lib/aws-calls')) continue;
      for (const [pattern, origin] of ORIGIN_PATTERNS) {
        if (pattern.test(line)) {
          origins.set(client, origin);
          return origin;
        }
      }
    }
    return 'unknown'; // not cached: a later call may reveal it
  }

  for (const [proto, original] of originals) {
    proto.send = async function countedSend(this: object, command: { input?: Record<string, any> }, ...rest: unknown[]) {
      const service = serviceOf(this);
      const operation = operationOf(command);
      const origin = originOf(this);
      const id = `${origin}|${service}|${operation}`;
      const stat =
        stats.get(id) ??
        ({ origin, service, operation, count: 0, errors: 0, conditionalFailures: 0, conditionalFailuresBy: {}, totalMs: 0, capacityUnits: 0, writeUnitsByEntity: {} } as CallStat);
      stats.set(id, stat);
      const input = command.input ?? {};
      const measureCapacity = service === 'DynamoDB' && CAPACITY_OPERATIONS.has(operation) && input.ReturnConsumedCapacity === undefined;
      if (measureCapacity) input.ReturnConsumedCapacity = 'TOTAL';
      const started = performance.now();
      try {
        const output = await original.call(this, command, ...rest);
        if (measureCapacity) {
          const consumed = output?.ConsumedCapacity;
          const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce(
            (sum: number, c: { CapacityUnits?: number }) => sum + (c.CapacityUnits ?? 0),
            0,
          );
          stat.capacityUnits += units;
          if (WRITE_OPERATIONS.has(operation)) {
            const entities = writtenEntities(operation, input);
            for (const entity of entities) {
              stat.writeUnitsByEntity[entity] = (stat.writeUnitsByEntity[entity] ?? 0) + units / entities.length;
            }
          }
        }
        return output;
      } catch (error) {
        stat.errors += 1;
        if ((error as Error)?.name === 'ConditionalCheckFailedException') {
          stat.conditionalFailures += 1;
          const guard = `${String((input.Key ?? input.Item)?.sk ?? '?').split('#')[0]} ${String(input.ConditionExpression ?? '-')}`;
          stat.conditionalFailuresBy[guard] = (stat.conditionalFailuresBy[guard] ?? 0) + 1;
          // DynamoDB still bills a refused conditional write (at least 1 WRU); no index is written.
          stat.capacityUnits += 1;
        }
        throw error;
      } finally {
        stat.count += 1;
        stat.totalMs += performance.now() - started;
        if (measureCapacity) delete input.ReturnConsumedCapacity;
      }
    };
  }

  return {
    label: (client, origin) => origins.set(client, origin),
    reset: () => {
      stats = new Map();
    },
    snapshot: () => [...stats.values()].map((s) => ({ ...s, conditionalFailuresBy: { ...s.conditionalFailuresBy }, writeUnitsByEntity: { ...s.writeUnitsByEntity } })),
    uninstall: () => {
      for (const [proto, original] of originals) proto.send = original;
    },
  };
}
