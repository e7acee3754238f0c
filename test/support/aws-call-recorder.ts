// Test support: records every AWS SDK call the handlers and the CLI make, with who made it
// (the Lambda the local stack was running, or the operator running a CLI command), so
// test/support/iam-simulation.ts can evaluate each call against the synthesized stack's IAM.
// Installed only by tests: it patches the SDK's shared Client#send to add one middleware per
// client, so production code paths carry nothing. Calls made outside runAs (the harness's own
// setup, the local Lambda event-source pollers) are not attributed and not recorded.
import { AsyncLocalStorage } from 'node:async_hooks';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** One SDK operation as IAM sees it: who, which service and operation, and the request's resource fields. */
export interface RecordedCall {
  /** A handler name (intake, extractor, ...) or `operator` for the CLI. */
  readonly principal: string;
  /** The SDK client's name without `Client`: DynamoDB, SQS, S3, BedrockRuntime, APIGateway, ... */
  readonly service: string;
  /** The operation without `Command`: PutItem, SendMessageBatch, GetObject, Converse, ... */
  readonly operation: string;
  /** The request input's resource fields only (names, URLs, keys, ids); never item data or bodies. */
  readonly input: Record<string, unknown>;
  /** The HTTP method and path the request went to (REST APIs such as API Gateway authorise by them). */
  readonly http?: { readonly method: string; readonly path: string };
}

/** Input fields that name a resource; everything else (items, message bodies, media bytes) stays out. */
const RESOURCE_FIELDS = [
  'TableName', 'IndexName', 'QueueUrl', 'Bucket', 'Key', 'modelId', 'StackName', 'TopicArn', 'KeyId',
  'usagePlanId', 'apiKey', 'keyId',
] as const;

function resourceFields(input: Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of RESOURCE_FIELDS) if (input[field] !== undefined) picked[field] = input[field];
  // A DynamoDB Key is item data (tenant and job ids); only an S3 object key names a resource.
  if (input.Bucket === undefined) delete picked.Key;
  // Batch and transaction operations name their tables per entry.
  if (input.RequestItems && typeof input.RequestItems === 'object') picked.RequestItems = Object.keys(input.RequestItems);
  if (Array.isArray(input.TransactItems)) {
    picked.TransactItems = input.TransactItems.map((item: Record<string, { TableName?: string }>) =>
      Object.fromEntries(Object.entries(item).map(([kind, body]) => [kind, body?.TableName])),
    );
  }
  return picked;
}

type Send = (this: { middlewareStack: MiddlewareStackLike; config?: unknown }, command: unknown, ...rest: unknown[]) => unknown;
interface MiddlewareStackLike {
  add(middleware: unknown, options: Record<string, unknown>): void;
}

/** Every SDK client class the handlers and CLI use; they share one base Client, patched once. */
const CLIENT_CLASSES = [DynamoDBClient, SQSClient, S3Client, BedrockRuntimeClient, APIGatewayClient, CloudFormationClient];

export interface CallRecorder {
  readonly calls: readonly RecordedCall[];
  /** Runs fn with every SDK call inside it attributed to principal. */
  runAs<T>(principal: string, fn: () => T): T;
  /**
   * Records a call made with a principal's credentials outside its SDK client: a presigned URL
   * used by someone else is authorised as the principal that signed it
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
   */
  recordOnBehalfOf(call: RecordedCall): void;
  stop(): void;
}

export function startCallRecorder(): CallRecorder {
  const who = new AsyncLocalStorage<string>();
  const calls: RecordedCall[] = [];
  const instrumented = new WeakSet<object>();
  const bases = new Map<{ send: Send }, Send>();
  for (const clientClass of CLIENT_CLASSES) {
    let proto = Object.getPrototypeOf(clientClass.prototype);
    while (proto && !Object.prototype.hasOwnProperty.call(proto, 'send')) proto = Object.getPrototypeOf(proto);
    if (proto && !bases.has(proto)) bases.set(proto, proto.send as Send);
  }
  if (bases.size === 0) throw new Error('no SDK Client#send found to record calls with');

  const record = (next: (args: any) => Promise<unknown>, context: { clientName?: string; commandName?: string }) =>
    async (args: { input: Record<string, unknown>; request?: { method?: string; path?: string } }) => {
      const principal = who.getStore();
      if (principal && context.clientName && context.commandName) {
        const request = args.request;
        calls.push({
          principal,
          service: context.clientName.replace(/Client$/, ''),
          operation: context.commandName.replace(/Command$/, ''),
          input: resourceFields(args.input ?? {}),
          ...(request?.method && request.path ? { http: { method: request.method, path: request.path } } : {}),
        });
      }
      return next(args);
    };

  for (const [proto, original] of bases) {
    proto.send = function (this: any, ...args: unknown[]) {
      const stack = this.middlewareStack as MiddlewareStackLike & object;
      if (stack && !instrumented.has(stack)) {
        instrumented.add(stack);
        // After serialisation, so the HTTP method and path are known; input is still on args.
        stack.add(record, { step: 'build', name: 'metahookCallRecorder', priority: 'low', override: true });
      }
      return original.apply(this, args as [unknown]);
    } as Send;
  }

  return {
    calls,
    runAs: (principal, fn) => who.run(principal, fn),
    recordOnBehalfOf: (call) => void calls.push({ ...call, input: resourceFields(call.input) }),
    stop() {
      for (const [proto, original] of bases) proto.send = original;
    },
  };
}
