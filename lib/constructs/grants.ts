// Least-privilege grants shared by the pipeline constructs: exactly the DynamoDB, SQS and KMS
// actions the handlers call, on the resources they touch, nothing broader (no table Scan,
// no queue Purge, no kms:*).
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

/** What the repositories in lambdas/adapters call on the table (and its indexes, for Query). */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
] as const;

/** DynamoDB with a customer-managed key calls KMS on the caller's behalf. */
const TABLE_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] as const;

/** SQS encrypts a sent message under a data key it generates with the caller's permissions. */
const SEND_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'] as const;

export function grantTableReadWrite(table: ITable, grantee: IGrantable): void {
  table.grant(grantee, ...TABLE_ACTIONS);
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
