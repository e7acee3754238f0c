// Adapter: builds the AWS SDK clients once per process (module scope in each handler).
// Endpoints come from the standard AWS_ENDPOINT_URL_<SERVICE> variables, so the same code
// talks to AWS or to the local emulators; only configuration differs. Every client is traced
// (Powertools captureAWSv3Client: one subsegment per call); SQS sends also carry the trace header.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { KMSClient } from '@aws-sdk/client-kms';
import { ENV } from '../runtime-config';
import { propagateTraceHeader, processTracer } from './tracing';

type Env = Record<string, string | undefined>;

/**
 * Limits on one attempt of a DynamoDB, SQS, S3 or KMS call. Without them a connection that
 * accepts and then never answers holds the call until the function times out: the SDK sets no
 * timeout of its own (@smithy/node-http-handler: connectionTimeout, requestTimeout and
 * socketTimeout "default to 0", and the service defaults in @aws-sdk/core
 * getDefaultSocketTimeout, 5-15 minutes, are opt-in through AWS_ENABLE_DEFAULT_SOCKET_TIMEOUT_2026).
 * The socket limit is on inactivity, so an S3 body that keeps streaming is never cut. A timed-out
 * attempt fails with TimeoutError, which the SDK's standard retry strategy retries as transient.
 */
export interface AwsCallTimeouts {
  readonly connectionTimeoutMs: number;
  readonly socketTimeoutMs: number;
}

/**
 * These services answer in milliseconds; 10 s of silence on a socket is a dead connection. An SQS
 * long poll (WaitTimeSeconds: the CLI's redrive, the local poller) must stay below socketTimeoutMs.
 */
export const AWS_CALL_TIMEOUTS: AwsCallTimeouts = { connectionTimeoutMs: 3_000, socketTimeoutMs: 10_000 };

const requestHandler = (timeouts: AwsCallTimeouts) => ({
  connectionTimeout: timeouts.connectionTimeoutMs,
  socketTimeout: timeouts.socketTimeoutMs,
});

const endpoint = (env: Env, service: string): string | undefined =>
  env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;

export function createDocumentClient(env: Env = process.env, timeouts: AwsCallTimeouts = AWS_CALL_TIMEOUTS): DynamoDBDocumentClient {
  const client = processTracer().captureAWSv3Client(new DynamoDBClient({ endpoint: endpoint(env, 'DYNAMODB'), requestHandler: requestHandler(timeouts) }));
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createSqsClient(env: Env = process.env, timeouts: AwsCallTimeouts = AWS_CALL_TIMEOUTS): SQSClient {
  const custom = endpoint(env, 'SQS');
  // Emulator queue URLs use hosts that do not resolve; an explicit endpoint wins over them.
  const location = custom ? { endpoint: custom, useQueueUrlAsEndpoint: false } : {};
  return propagateTraceHeader(processTracer().captureAWSv3Client(new SQSClient({ ...location, requestHandler: requestHandler(timeouts) })));
}

export function createS3Client(env: Env = process.env, timeouts: AwsCallTimeouts = AWS_CALL_TIMEOUTS): S3Client {
  return processTracer().captureAWSv3Client(new S3Client({
    endpoint: endpoint(env, 'S3'),
    requestHandler: requestHandler(timeouts),
    forcePathStyle: env[ENV.s3ForcePathStyle] === 'true',
    // Checksums only where S3 requires them: emulators mishandle the streaming trailer.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  }));
}

export function createKmsClient(env: Env = process.env, timeouts: AwsCallTimeouts = AWS_CALL_TIMEOUTS): KMSClient {
  return new KMSClient({ endpoint: endpoint(env, 'KMS'), requestHandler: requestHandler(timeouts) });
}
