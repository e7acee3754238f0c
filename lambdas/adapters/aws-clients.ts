// Adapter: builds the AWS SDK clients once per process (module scope in each handler).
// Endpoints come from the standard AWS_ENDPOINT_URL_<SERVICE> variables, so the same code
// talks to AWS or to the local emulators; only configuration differs.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { KMSClient } from '@aws-sdk/client-kms';
import { ENV } from '../runtime-config';

type Env = Record<string, string | undefined>;

const endpoint = (env: Env, service: string): string | undefined =>
  env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;

export function createDocumentClient(env: Env = process.env): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ endpoint: endpoint(env, 'DYNAMODB') });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createSqsClient(env: Env = process.env): SQSClient {
  const custom = endpoint(env, 'SQS');
  // Emulator queue URLs use hosts that do not resolve; an explicit endpoint wins over them.
  return new SQSClient(custom ? { endpoint: custom, useQueueUrlAsEndpoint: false } : {});
}

export function createS3Client(env: Env = process.env): S3Client {
  return new S3Client({
    endpoint: endpoint(env, 'S3'),
    forcePathStyle: env[ENV.s3ForcePathStyle] === 'true',
    // Checksums only where S3 requires them: emulators mishandle the streaming trailer.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function createKmsClient(env: Env = process.env): KMSClient {
  return new KMSClient({ endpoint: endpoint(env, 'KMS') });
}
