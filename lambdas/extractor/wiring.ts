// Wiring: builds the extractor's ports from the environment, once per cold start.
// The model provider is chosen by METAHOOK_MODEL_PROVIDER (local analyzer or Bedrock).
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Settings } from '../../lib/settings';
import { createS3Client, createSqsClient } from '../adapters/aws-clients';
import { createDynamoBatchProgress } from '../adapters/dynamo/batch-progress';
import { gatherBatchProgress, type GatheredBatchProgress } from '../adapters/dynamo/gathered-batch-progress';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createHttpMediaSource } from '../adapters/http-media-source';
import { createMetadataProvider, readModelConfig } from '../adapters/model-provider';
import { createMediaSource, createS3MediaSource } from '../adapters/s3-media-source';
import { createSafeHttpClient } from '../adapters/safe-http';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { observedProvider } from '../adapters/observed-ports';
import { METRIC_SERVICE, METRICS_NAMESPACE } from '../core/metric-names';
import { readPriceTable } from '../core/model-prices';
import { createBatchingDeliveryQueue, type BatchingDeliveryQueue } from '../adapters/sqs-batching-delivery-queue';
import type { ExtractJobDeps } from '../core/extract-job';
import type { JobLifecycle } from '../core/ports';
import { sniffMedia } from '../core/media-type';
import { ENV, readOutboundPolicy, readSourcePolicy, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export interface ExtractorWiring {
  readonly deps: ExtractJobDeps;
  readonly sqs: SQSClient;
  readonly jobsQueueUrl: string;
  readonly jobsDlqUrl: string;
  /** A disabled tenant's jobs wait here, where no alarm fires (ENV.jobsHeldQueueUrl). */
  readonly jobsHeldQueueUrl: string;
  readonly settings: Settings;
  /** Webhook messages of one SQS batch, sent together when the batch is done. */
  readonly deliveryBuffer: BatchingDeliveryQueue;
  /** Batch progress of one SQS batch's records, written together (one UpdateItem per submission). */
  readonly batchProgress: GatheredBatchProgress;
  /** Failure path: a finished job's webhooks SQS did not take on its last receive, handed to the sweeper. */
  readonly announcements: Pick<JobLifecycle, 'deferAnnouncement'>;
  /** The extractor's EMF metrics (flushed per invocation by the handler's logMetrics). */
  readonly metrics: Metrics;
}

export async function buildExtractorDeps(env: Env): Promise<ExtractorWiring> {
  const { settings, tableName, db, jobs, tenants } = tablePorts(env);
  const batchProgress = gatherBatchProgress(createDynamoBatchProgress(db, { tableName }));
  const sqs = createSqsClient(env);
  const http = createSafeHttpClient({ policy: readOutboundPolicy(env) });
  const deliveryBuffer = createBatchingDeliveryQueue(sqs, requireEnv(env, ENV.deliveriesQueueUrl));
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICE.extractor });
  const models = readModelConfig(env);
  const provider = observedProvider(await createMetadataProvider(env), metrics, {
    prices: readPriceTable(env),
    // A failed call has no answer naming its model: the configured one.
    modelIdFor: (kind) => (models.provider === 'local' ? 'local' : kind === 'image' ? models.imageModelId : models.audioModelId),
  });
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
      provider,
      deliveries: deliveryBuffer.queue,
      settings,
      now: () => new Date(),
      prices: readPriceTable(env),
    },
    sqs,
    jobsQueueUrl: requireEnv(env, ENV.jobsQueueUrl),
    jobsDlqUrl: requireEnv(env, ENV.jobsDlqUrl),
    jobsHeldQueueUrl: requireEnv(env, ENV.jobsHeldQueueUrl),
    settings,
    deliveryBuffer,
    batchProgress,
    announcements: jobs,
    metrics,
  };
}
