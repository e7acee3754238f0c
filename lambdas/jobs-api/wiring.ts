// Wiring: builds the jobs API's ports from the environment, once per cold start.
import { createSqsClient } from '../adapters/aws-clients';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSqsDeliveryQueue } from '../adapters/sqs-queues';
import type { JobQueryDeps } from '../core/job-queries';
import type { SendTestWebhookDeps } from '../core/send-test-webhook';
import { createSafeHttpClient } from '../adapters/safe-http';
import type { TenantDirectory } from '../core/ports';
import { ENV, readOutboundPolicy, requireEnv } from '../runtime-config';

export function buildJobsApiDeps(env: Record<string, string | undefined>): {
  deps: JobQueryDeps;
  tenants: TenantDirectory;
  webhookTest: SendTestWebhookDeps;
} {
  const { jobs, tenants, settings } = tablePorts(env);
  const outbound = readOutboundPolicy(env);
  return {
    deps: {
      jobs,
      deliveries: createSqsDeliveryQueue(createSqsClient(env), requireEnv(env, ENV.deliveriesQueueUrl)),
      now: () => new Date(),
    },
    tenants,
    // POST /v1/webhooks/test: the callback's own sender and URL policy, so the probe proves what deliveries will meet.
    webhookTest: { tenants, sender: createSafeHttpClient({ policy: outbound }), outbound, settings, now: () => new Date() },
  };
}
