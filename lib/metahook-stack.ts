// The Metahook stack: composes the constructs of lib/constructs into the pipeline the local
// stack also runs (API -> jobs queue -> extractor -> deliveries queue -> callback). Timings and
// limits come from lib/settings.ts, deploy-time choices from lib/deploy-config.ts.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { DeployConfig } from './deploy-config';
import { queueDesigns } from './queue-design';
import { resolveSettings, type Settings } from './settings';
import { acknowledgeNagFindings } from './constructs/nag-acknowledgements';
import { Delivery } from './constructs/delivery';
import { Extraction } from './constructs/extraction';
import { IntakeApi } from './constructs/intake-api';
import { Observability } from './constructs/observability';
import { HoldQueue } from './constructs/hold-queue';
import { StageAlarms } from './constructs/stage-alarms';
import { StageDashboard } from './constructs/stage-dashboard';
import { PipelineFunction } from './constructs/pipeline-function';
import { PipelineQueue } from './constructs/pipeline-queue';
import { runtimeEnvironment } from './constructs/runtime-environment';
import { Storage } from './constructs/storage';
import { Sweeper } from './constructs/sweeper';

/** Jobs older than this raise an alarm: 10 of the 15 minutes the API promises end to end. */
export const JOB_AGE_ALARM_SECONDS = 600;

export interface MetahookStackProps extends StackProps {
  readonly config: DeployConfig;
  /** @default resolveSettings(config.capacityEnv) — the defaults the handlers resolve at run time too */
  readonly settings?: Settings;
}

export class MetahookStack extends Stack {
  public readonly storage: Storage;
  public readonly jobs: PipelineQueue;
  public readonly deliveries: PipelineQueue;
  public readonly extraction: Extraction;
  public readonly delivery: Delivery;
  public readonly intakeApi: IntakeApi;
  public readonly observability: Observability;
  public readonly stageAlarms: StageAlarms;
  public readonly jobsHeld: HoldQueue;
  public readonly sweeper: Sweeper;

  constructor(scope: Construct, id: string, props: MetahookStackProps) {
    super(scope, id, props);
    const { config } = props;
    // The capacity context keys reach the settings as METAHOOK_* values: one derived plan for
    // the event source, the usage plan and (through the same variables) the local stack.
    const settings = props.settings ?? resolveSettings(config.capacityEnv);
    const designs = queueDesigns(settings);
    const logRetention = config.logRetentionDays as RetentionDays;

    this.storage = new Storage(this, 'Storage', {
      deletionProtection: config.deletionProtection,
      mediaExpiryDays: config.mediaExpiryDays,
    });
    const encryptionKey = this.storage.dataKey;
    this.jobs = new PipelineQueue(this, 'Jobs', {
      design: designs.jobs,
      deadLetterDesign: designs.jobsDeadLetter,
      encryptionKey,
    });
    this.deliveries = new PipelineQueue(this, 'Deliveries', {
      design: designs.deliveries,
      deadLetterDesign: designs.deliveriesDeadLetter,
      encryptionKey,
    });

    this.jobsHeld = new HoldQueue(this, 'JobsHeld', { design: designs.jobsHeld, encryptionKey });

    const environment = runtimeEnvironment({
      table: this.storage.table,
      jobsQueue: this.jobs.queue,
      jobsDeadLetterQueue: this.jobs.deadLetterQueue,
      jobsHeldQueue: this.jobsHeld.queue,
      deliveriesQueue: this.deliveries.queue,
      deliveriesDeadLetterQueue: this.deliveries.deadLetterQueue,
      mediaBucket: this.storage.mediaBucket,
      secretsKey: this.storage.secretsKey,
      allowedSourceBuckets: config.allowedSourceBuckets,
      imageModelId: config.imageModelId,
      audioModelId: config.audioModelId,
      ...(config.modelPrices !== undefined ? { modelPrices: config.modelPrices } : {}),
    });

    this.extraction = new Extraction(this, 'Extraction', {
      settings,
      jobs: this.jobs,
      deliveriesQueue: this.deliveries.queue,
      jobsHeldQueue: this.jobsHeld.queue,
      table: this.storage.table,
      mediaBucket: this.storage.mediaBucket,
      allowedSourceBuckets: config.allowedSourceBuckets,
      imageModelId: config.imageModelId,
      audioModelId: config.audioModelId,
      bedrockRoutingRegions: config.bedrockRoutingRegions,
      imageDownscaling: config.imageDownscaling,
      audioNormalisation: config.audioNormalisation,
      maxAudioDurationSeconds: config.maxAudioDurationSeconds,
      environment,
      logRetention,
    });
    this.delivery = new Delivery(this, 'Delivery', {
      settings,
      deliveries: this.deliveries,
      table: this.storage.table,
      secretsKey: this.storage.secretsKey,
      environment,
      logRetention,
    });
    this.intakeApi = new IntakeApi(this, 'IntakeApi', {
      settings,
      table: this.storage.table,
      jobsQueue: this.jobs.queue,
      deliveriesQueue: this.deliveries.queue,
      mediaBucket: this.storage.mediaBucket,
      webhookTestHandler: this.delivery.callback.function,
      secretsKey: this.storage.secretsKey,
      environment,
      usagePlan: config.usagePlan,
      logRetention,
      createCloudWatchRole: config.apiGatewayCloudWatchRole,
    });
    this.observability = new Observability(this, 'Observability', {
      api: this.intakeApi.api,
      intake: this.intakeApi.intake.function,
      jobsApi: this.intakeApi.jobsApi.function,
      extractor: this.extraction.extractor.function,
      callback: this.delivery.callback.function,
      queues: [
        { label: 'Jobs', queue: this.jobs.queue, deadLetterQueue: this.jobs.deadLetterQueue, maxAgeSeconds: JOB_AGE_ALARM_SECONDS },
        { label: 'Deliveries', queue: this.deliveries.queue, deadLetterQueue: this.deliveries.deadLetterQueue },
      ],
      encryptionKey,
      alarmEmail: config.alarmEmail,
    });

    this.stageAlarms = new StageAlarms(this, 'StageAlarms', { alarmTopic: this.observability.alarmTopic });
    new StageDashboard(this, 'StageDashboard', { dashboard: this.observability.dashboard });

    this.sweeper = new Sweeper(this, 'Sweeper', {
      settings,
      table: this.storage.table,
      jobsQueue: this.jobs.queue,
      deliveriesQueue: this.deliveries.queue,
      environment,
      logRetention,
      alarmTopic: this.observability.alarmTopic,
    });

    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'MediaBucketName', { value: this.storage.mediaBucket.bucketName });
    // Read by `metahook tenants allow-source`: a tenant may be granted only buckets the extractor can read.
    new CfnOutput(this, 'AllowedSourceBuckets', {
      value: config.allowedSourceBuckets.length > 0 ? config.allowedSourceBuckets.join(',') : '-',
      description: 'Buckets besides the media bucket the extractor may read (allowedSourceBuckets)',
    });
    // Read by `metahook tenants set-audio-limit`: a tenant's own limit may be lower, never higher.
    new CfnOutput(this, 'MaxAudioSeconds', {
      value: String(config.maxAudioDurationSeconds),
      description: "The extractor's longest recording in seconds (maxAudioDurationSeconds)",
    });
    new CfnOutput(this, 'JobsQueueUrl', { value: this.jobs.queue.queueUrl });
    new CfnOutput(this, 'DeliveriesQueueUrl', { value: this.deliveries.queue.queueUrl });
    new CfnOutput(this, 'JobsDeadLetterQueueUrl', { value: this.jobs.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'JobsHeldQueueUrl', { value: this.jobsHeld.queue.queueUrl });
    new CfnOutput(this, 'DeliveriesDeadLetterQueueUrl', { value: this.deliveries.deadLetterQueue.queueUrl });
    // The tenant commands seal new signing secrets with it (cli/target.ts).
    new CfnOutput(this, 'SecretsKeyArn', { value: this.storage.secretsKey.keyArn });

    if (config.sourceMapStackTraces) {
      // Every function, whichever construct made it: the choice is the stage's, not a handler's.
      for (const fn of this.node.findAll().filter((c): c is PipelineFunction => c instanceof PipelineFunction)) {
        fn.function.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
      }
    }

    acknowledgeNagFindings(this, {
      allowedSourceBuckets: config.allowedSourceBuckets,
      modelIds: [config.imageModelId, config.audioModelId],
    });
  }
}
