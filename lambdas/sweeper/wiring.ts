// Wiring: builds the sweeper's ports from the environment, once per cold start.
import { createSqsClient } from '../adapters/aws-clients';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSqsJobQueue } from '../adapters/sqs-queues';
import type { SweepOutboxDeps } from '../core/sweep-outbox';
import { ENV, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export function buildSweeperDeps(env: Env): SweepOutboxDeps {
  const { settings, outbox, jobs } = tablePorts(env);
  return {
    outbox,
    jobs,
    queue: createSqsJobQueue(createSqsClient(env), requireEnv(env, ENV.jobsQueueUrl)),
    now: () => new Date(),
    minAgeSeconds: settings.sweeper.outboxMinAgeSeconds,
    maxEntries: settings.sweeper.maxEntriesPerRun,
  };
}
