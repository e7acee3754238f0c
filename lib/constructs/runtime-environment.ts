// The environment every pipeline Lambda gets: the contract in lambdas/runtime-config.ts
// (ENV holds the names), filled with the deployed resources. All three handlers get the same
// map so a handler reading one more variable later cannot fail at cold start in the cloud only.
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { MODEL_PRICES_ENV } from '../../lambdas/core/model-prices';
import { ENV } from '../../lambdas/runtime-config';

export interface RuntimeResources {
  readonly table: ITable;
  readonly jobsQueue: IQueue;
  readonly jobsDeadLetterQueue: IQueue;
  readonly jobsHeldQueue: IQueue;
  readonly deliveriesQueue: IQueue;
  readonly deliveriesDeadLetterQueue: IQueue;
  readonly mediaBucket: IBucket;
  /** Naming the key grants nothing: lib/constructs/secret-custody.ts decides who may use it. */
  readonly secretsKey: IKey;
  readonly allowedSourceBuckets: readonly string[];
  readonly imageModelId: string;
  readonly audioModelId: string;
  /** The deploy's price table (JSON); the handlers use lambdas/core/model-prices.ts defaults without it. */
  readonly modelPrices?: string;
}

export function runtimeEnvironment(resources: RuntimeResources): Record<string, string> {
  return {
    [ENV.tableName]: resources.table.tableName,
    [ENV.jobsQueueUrl]: resources.jobsQueue.queueUrl,
    [ENV.jobsDlqUrl]: resources.jobsDeadLetterQueue.queueUrl,
    [ENV.jobsHeldQueueUrl]: resources.jobsHeldQueue.queueUrl,
    [ENV.deliveriesQueueUrl]: resources.deliveriesQueue.queueUrl,
    [ENV.deliveriesDlqUrl]: resources.deliveriesDeadLetterQueue.queueUrl,
    [ENV.mediaBucket]: resources.mediaBucket.bucketName,
    [ENV.secretsKeyId]: resources.secretsKey.keyArn,
    [ENV.allowedSourceBuckets]: resources.allowedSourceBuckets.join(','),
    [ENV.modelProvider]: 'bedrock',
    [ENV.imageModelId]: resources.imageModelId,
    [ENV.audioModelId]: resources.audioModelId,
    ...(resources.modelPrices !== undefined ? { [MODEL_PRICES_ENV]: resources.modelPrices } : {}),
  };
}
