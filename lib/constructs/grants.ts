// Least-privilege grants shared by the pipeline constructs: each role gets exactly the DynamoDB,
// SQS and KMS actions its handler calls, on the resources it touches. The IAM simulation test
// (test/integration/iam-simulation.test.ts) records every call the handlers make and fails on a
// call these grants deny AND on a grant no call needs, so a change here is checked both ways.
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:Query';

export interface TableGrant {
  /** Item actions on the table itself. */
  readonly actions: readonly TableAction[];
  /** Query on the table's GSIs (lib/table-design.ts). @default false */
  readonly queryIndexes?: boolean;
}

/**
 * DynamoDB decrypts a customer-managed-key table's table key with the caller's permission;
 * reads and writes need kms:Decrypt only (no Encrypt, GenerateDataKey or DescribeKey, which
 * DynamoDB uses when the table is created or its key changes):
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html
 */
const TABLE_KEY_ACTIONS = ['kms:Decrypt'] as const;

/**
 * SQS encrypts a sent message under a data key it generates with the producer's permissions:
 * a producer needs kms:GenerateDataKey and kms:Decrypt
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
 */
const SEND_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;

export function grantTable(table: ITable, grantee: IGrantable, grant: TableGrant): void {
  // Not table.grant(): for a table with indexes it adds every action on index/* as well.
  grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: [...grant.actions], resources: [table.tableArn] }));
  if (grant.queryIndexes) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/*`] }),
    );
  }
  table.encryptionKey?.grant(grantee, ...TABLE_KEY_ACTIONS);
}

/** SendMessage (and SendMessageBatch, which IAM authorises as SendMessage). */
export function grantSend(queue: IQueue, grantee: IGrantable): void {
  queue.grant(grantee, 'sqs:SendMessage');
  queue.encryptionMasterKey?.grant(grantee, ...SEND_KEY_ACTIONS);
}

/** The handlers delay a retry by changing the visibility of the record they are processing. */
export function grantChangeVisibility(queue: IQueue, grantee: IGrantable): void {
  queue.grant(grantee, 'sqs:ChangeMessageVisibility');
}

export interface QueueEventSourceOptions {
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly maxBatchingWindow?: Duration;
}

/**
 * The Lambda SQS event source with only the permissions its poller needs: ReceiveMessage,
 * DeleteMessage, GetQueueAttributes, and kms:Decrypt for an SSE-KMS queue
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions).
 * aws-cdk-lib's SqsEventSource also grants GetQueueUrl and ChangeMessageVisibility, which the
 * poller never calls.
 */
export function addQueueEventSource(fn: IFunction, queue: IQueue, options: QueueEventSourceOptions): void {
  fn.addEventSourceMapping('SqsEventSource', {
    eventSourceArn: queue.queueArn,
    batchSize: options.batchSize,
    maxConcurrency: options.maxConcurrency,
    reportBatchItemFailures: true,
    ...(options.maxBatchingWindow ? { maxBatchingWindow: options.maxBatchingWindow } : {}),
  });
  queue.grant(fn, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes');
  queue.encryptionMasterKey?.grant(fn, 'kms:Decrypt');
}
