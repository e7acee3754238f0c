// Wiring: builds the jobs API's ports from the environment, once per cold start.
import { createSqsClient } from '../adapters/aws-clients';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSqsDeliveryQueue } from '../adapters/sqs-queues';
import type { JobQueryDeps } from '../core/job-queries';
import type { TenantDirectory } from '../core/ports';
import { ENV, requireEnv } from '../runtime-config';

export function buildJobsApiDeps(env: Record<string, string | undefined>): { deps: JobQueryDeps; tenants: TenantDirectory } {
  const { jobs, batches, listings, ledger, tenants } = tablePorts(env);
  return {
    deps: {
      jobs,
      batches,
      listings,
      ledger,
      deliveries: createSqsDeliveryQueue(createSqsClient(env), requireEnv(env, ENV.deliveriesQueueUrl)),
      now: () => new Date(),
    },
    tenants,
  };
}
