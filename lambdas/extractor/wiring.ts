// Wiring: builds the extractor's ports from the environment, once per cold start.
// The model provider is chosen by METAHOOK_MODEL_PROVIDER (local analyzer or Bedrock).
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Settings } from '../../lib/settings';
import { createS3Client, createSqsClient } from '../adapters/aws-clients';
import { createDynamoBatchProgress } from '../adapters/dynamo/batch-progress';
import { gatherBatchProgress, type GatheredBatchProgress } from '../adapters/dynamo/gathered-batch-progress';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createHttpMediaSource } from '../adapters/http-media-source';
import { createMetadataProvider } from '../adapters/model-provider';
import { createMediaSource, createS3MediaSource } from '../adapters/s3-media-source';
import { createSafeHttpClient } from '../adapters/safe-http';
import { createBatchingDeliveryQueue, type BatchingDeliveryQueue } from '../adapters/sqs-batching-delivery-queue';
import type { ExtractJobDeps } from '../core/extract-job';
import { sniffMedia } from '../core/media-type';
import { ENV, readOutboundPolicy, readSourcePolicy, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export interface ExtractorWiring {
  readonly deps: ExtractJobDeps;
  readonly sqs: SQSClient;
  readonly jobsQueueUrl: string;
  readonly jobsDlqUrl: string;
  readonly settings: Settings;
  /** Webhook messages of one SQS batch, sent together when the batch is done. */
  readonly deliveryBuffer: BatchingDeliveryQueue;
  /** Batch progress of one SQS batch's records, written together (one UpdateItem per submission). */
  readonly batchProgress: GatheredBatchProgress;
}

export async function buildExtractorDeps(env: Env): Promise<ExtractorWiring> {
  const { settings, tableName, db, jobs, tenants } = tablePorts(env);
  const batchProgress = gatherBatchProgress(createDynamoBatchProgress(db, { tableName }));
  const sqs = createSqsClient(env);
  const http = createSafeHttpClient({ policy: readOutboundPolicy(env) });
  const deliveryBuffer = createBatchingDeliveryQueue(sqs, requireEnv(env, ENV.deliveriesQueueUrl));
  return {
    deps: {
      jobs,
      batches: batchProgress.store,
      tenants,
      media: createMediaSource({
        s3: createS3MediaSource(createS3Client(env), readSourcePolicy(env)),
        http: createHttpMediaSource(http),
      }),
      sniff: sniffMedia,
      provider: await createMetadataProvider(env),
      deliveries: deliveryBuffer.queue,
      settings,
      now: () => new Date(),
    },
    sqs,
    jobsQueueUrl: requireEnv(env, ENV.jobsQueueUrl),
    jobsDlqUrl: requireEnv(env, ENV.jobsDlqUrl),
    settings,
    deliveryBuffer,
    batchProgress,
  };
}
