// Wiring: builds the sweeper's ports from the environment, once per cold start.
import { createSqsClient } from '../adapters/aws-clients';
import { createDynamoOpenBatches } from '../adapters/dynamo/open-batches';
import { createDynamoStalledJobs } from '../adapters/dynamo/stalled-jobs';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSqsDeliveryQueue, createSqsJobQueue } from '../adapters/sqs-queues';
import type { SweepOpenBatchesDeps } from '../core/sweep-batches';
import type { SweepStalledJobsDeps } from '../core/sweep-leases';
import type { SweepOutboxDeps } from '../core/sweep-outbox';
import { ENV, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export interface SweeperWiring {
  readonly outbox: SweepOutboxDeps;
  readonly stalled: SweepStalledJobsDeps;
  readonly openBatches: SweepOpenBatchesDeps;
}

export function buildSweeperDeps(env: Env): SweeperWiring {
  const { settings, outbox, jobs, batches, db, tableName } = tablePorts(env);
  const sqs = createSqsClient(env);
  const queue = createSqsJobQueue(sqs, requireEnv(env, ENV.jobsQueueUrl));
  const now = () => new Date();
  const deliveries = createSqsDeliveryQueue(sqs, requireEnv(env, ENV.deliveriesQueueUrl));
  return {
    outbox: {
      outbox,
      jobs,
      batches,
      queue,
      deliveries,
      now,
      minAgeSeconds: settings.sweeper.outboxMinAgeSeconds,
      maxEntries: settings.sweeper.maxEntriesPerRun,
    },
    stalled: {
      stalled: createDynamoStalledJobs(db, { tableName }),
      deliveries,
      queue,
      now,
      graceSeconds: settings.sweeper.leaseGraceSeconds,
      maxJobs: settings.sweeper.maxEntriesPerRun,
    },
    openBatches: {
      batches: createDynamoOpenBatches(db, { tableName }),
      jobs,
      deliveries,
      now,
      checkSeconds: settings.sweeper.openBatchCheckSeconds,
      maxBatches: settings.sweeper.maxEntriesPerRun,
    },
  };
}
