// Wiring: builds the jobs API's ports from the environment, once per cold start.
import { createDocumentClient, createSqsClient } from '../adapters/aws-clients';
import { cacheTenantDirectory } from '../adapters/cached-tenant-directory';
import { createDynamoJobRepository } from '../adapters/dynamo/job-repository';
import { createDynamoTenantDirectory } from '../adapters/dynamo/tenant-directory';
import { createSqsDeliveryQueue } from '../adapters/sqs-queues';
import type { JobQueryDeps } from '../core/job-queries';
import type { TenantDirectory } from '../core/ports';
import { ENV, readSettings, requireEnv } from '../runtime-config';

export function buildJobsApiDeps(env: Record<string, string | undefined>): { deps: JobQueryDeps; tenants: TenantDirectory } {
  const settings = readSettings(env);
  const tableName = requireEnv(env, ENV.tableName);
  const db = createDocumentClient(env);
  return {
    deps: {
      jobs: createDynamoJobRepository(db, { tableName, retentionDays: settings.retention.jobDays }),
      deliveries: createSqsDeliveryQueue(createSqsClient(env), requireEnv(env, ENV.deliveriesQueueUrl)),
      now: () => new Date(),
    },
    tenants: cacheTenantDirectory(createDynamoTenantDirectory(db, { tableName }), 30_000),
  };
}
