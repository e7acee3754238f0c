// Wiring: builds the intake use case's ports from the environment, once per cold start.
import { createSqsClient } from '../adapters/aws-clients';
import { createDynamoIdempotencyStore } from '../adapters/dynamo/idempotency-store';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSqsJobQueue } from '../adapters/sqs-queues';
import type { TenantDirectory } from '../core/ports';
import type { SubmitJobsDeps } from '../core/submit-jobs';
import { ENV, readOutboundPolicy, readSourcePolicy, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export function buildIntakeDeps(
  env: Env,
  ids: Pick<SubmitJobsDeps, 'newJobId' | 'newBatchId'>,
): { deps: SubmitJobsDeps; tenants: TenantDirectory } {
  const { settings, tableName, db, claims, outbox, jobs, tenants } = tablePorts(env);
  return {
    deps: {
      claims,
      outbox,
      jobs,
      queue: createSqsJobQueue(createSqsClient(env), requireEnv(env, ENV.jobsQueueUrl)),
      idempotency: createDynamoIdempotencyStore(db, {
        tableName,
        ttlSeconds: settings.idempotency.idempotencyKeyTtlSeconds,
        inProgressTimeoutSeconds: settings.intake.functionTimeoutSeconds + 1,
      }),
      outbound: readOutboundPolicy(env),
      sources: readSourcePolicy(env),
      settings,
      now: () => new Date(),
      ...ids,
    },
    tenants,
  };
}
