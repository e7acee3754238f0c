// Extraction: the extractor Lambda fed by the jobs queue. It reads media (media bucket and
// allowlisted source buckets only), calls Bedrock, stores the result and queues the webhook.
// Batch size and maxConcurrency come from the capacity plan (lib/capacity.ts via lib/settings.ts):
// the event source never runs more extractors than the plan, which was checked against the model
// quotas, and reserved concurrency guarantees the plan those extractors.
import { Aws, Duration } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Settings } from '../settings';
import { TENANT_MEDIA_ROOT } from '../../lambdas/core/media-scope';
import { bedrockInvokeStatements } from './bedrock-access';
import { addQueueEventSource, grantChangeVisibility, grantSend, grantTable } from './grants';
import { PipelineFunction } from './pipeline-function';
import type { PipelineQueue } from './pipeline-queue';

export interface ExtractionProps {
  readonly settings: Settings;
  readonly jobs: PipelineQueue;
  readonly deliveriesQueue: IQueue;
  readonly table: ITable;
  readonly mediaBucket: IBucket;
  /** Other buckets the extractor may read s3:// files from. @default none */
  readonly allowedSourceBuckets?: readonly string[];
  readonly imageModelId: string;
  readonly audioModelId: string;
  /** @default the routing table in lib/deploy-config.ts */
  readonly bedrockRoutingRegions?: readonly string[];
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /**
   * Install sharp for linux-arm64 next to the bundle, so images over the model's limits are
   * downscaled. Needs the npm registry at synth time.
   * @default false
   */
  readonly imageDownscaling?: boolean;
  /**
   * Install ffmpeg (@ffmpeg-installer, linux-arm64 static build, GPLv3, ~33 MB unzipped) next to
   * the bundle, so audio reaches the model as mono 16 kHz MP3 split at its audio window
   * (lambdas/adapters/audio-normaliser.ts). Needs the npm registry at synth time.
   * @default false: audio is sent as uploaded
   */
  readonly audioNormalisation?: boolean;
  /** Longest recording accepted; longer ones fail with file_too_long. @default settings (2 hours) */
  readonly maxAudioDurationSeconds?: number;
}

function nativeModules(props: ExtractionProps): { nativeModules?: string[] } {
  const modules = [...(props.imageDownscaling ? ['sharp'] : []), ...(props.audioNormalisation ? ['@ffmpeg-installer/ffmpeg'] : [])];
  return modules.length > 0 ? { nativeModules: modules } : {};
}

export class Extraction extends Construct {
  public readonly extractor: PipelineFunction;

  constructor(scope: Construct, id: string, props: ExtractionProps) {
    super(scope, id);
    const { settings } = props;
    const visibility = props.jobs.design.visibilityTimeoutSeconds;
    if (visibility < 6 * settings.extraction.functionTimeoutSeconds) {
      throw new Error(`Jobs queue visibility (${visibility}s) must be at least 6x the extractor timeout`);
    }

    this.extractor = new PipelineFunction(this, 'Extractor', {
      handlerName: 'extractor',
      description: 'Metahook extractor: fetches a file, extracts metadata with Bedrock, stores the result',
      timeoutSeconds: settings.extraction.functionTimeoutSeconds,
      memoryMb: settings.extraction.memoryMb,
      environment: {
        ...props.environment,
        ...(props.maxAudioDurationSeconds !== undefined ? { METAHOOK_MAX_AUDIO_SECONDS: String(props.maxAudioDurationSeconds) } : {}),
      },
      logRetention: props.logRetention,
      ...nativeModules(props),
    });
    const fn = this.extractor.function;
    // Reserved = the event source's maxConcurrency: the planned extractors always get their
    // concurrency and never take more. AWS: maxConcurrency should not exceed reserved concurrency
    // (Lambda Developer Guide, services-sqs-scaling.html).
    (fn.node.defaultChild as CfnFunction).reservedConcurrentExecutions = settings.extraction.maxConcurrency;

    addQueueEventSource(fn, props.jobs.queue, {
      batchSize: settings.extraction.batchSize,
      maxConcurrency: settings.extraction.maxConcurrency,
      ...(settings.extraction.batchSize > 10 ? { maxBatchingWindow: Duration.seconds(1) } : {}),
    });

    // Reads the job, tenant and batch; moves job and batch state (conditional updates).
    grantTable(props.table, fn, { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] });
    grantChangeVisibility(props.jobs.queue, fn);
    grantSend(props.jobs.deadLetterQueue, fn);
    // Fairness: a record held back for other tenants is sent again to the back of the jobs queue.
    grantSend(props.jobs.queue, fn);
    grantSend(props.deliveriesQueue, fn);

    // GetObject only (it also authorises HeadObject): no listing, no bucket-level reads; in the
    // media bucket only below tenants/, where every tenant's uploads live (issue 16).
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadMediaAndAllowlistedSourceObjects',
        actions: ['s3:GetObject'],
        resources: [
          props.mediaBucket.arnForObjects(`${TENANT_MEDIA_ROOT}*`),
          ...(props.allowedSourceBuckets ?? []).map((bucket) => `arn:${Aws.PARTITION}:s3:::${bucket}/*`),
        ],
      }),
    );

    for (const statement of bedrockInvokeStatements(this, [props.imageModelId, props.audioModelId], {
      routingRegions: props.bedrockRoutingRegions,
    })) {
      fn.addToRolePolicy(statement);
    }
  }
}
