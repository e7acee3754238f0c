// Wiring: builds the intake use case's ports from the environment, once per cold start.
import { createDocumentClient, createSqsClient } from '../adapters/aws-clients';
import { cacheTenantDirectory } from '../adapters/cached-tenant-directory';
import { createDynamoIdempotencyStore } from '../adapters/dynamo/idempotency-store';
import { createDynamoJobRepository } from '../adapters/dynamo/job-repository';
import { createDynamoTenantDirectory } from '../adapters/dynamo/tenant-directory';
import { createSqsJobQueue } from '../adapters/sqs-queues';
import type { TenantDirectory } from '../core/ports';
import type { SubmitJobsDeps } from '../core/submit-jobs';
import { ENV, readOutboundPolicy, readSettings, readSourcePolicy, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export function buildIntakeDeps(
  env: Env,
  ids: Pick<SubmitJobsDeps, 'newJobId' | 'newBatchId'>,
): { deps: SubmitJobsDeps; tenants: TenantDirectory } {
  const settings = readSettings(env);
  const tableName = requireEnv(env, ENV.tableName);
  const db = createDocumentClient(env);
  return {
    deps: {
      jobs: createDynamoJobRepository(db, { tableName, retentionDays: settings.retention.jobDays }),
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
    tenants: cacheTenantDirectory(createDynamoTenantDirectory(db, { tableName }), 30_000),
  };
}
