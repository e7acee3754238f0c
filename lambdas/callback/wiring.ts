// Wiring: builds the callback use case's ports from the environment, once per cold start.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../adapters/aws-clients';
import { cacheOpenedSecrets } from '../adapters/cached-secret-sealer';
import { createDynamoAttemptLog } from '../adapters/dynamo/attempt-log';
import { createSecretSealerFromEnv } from '../adapters/kms-secret-sealer';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSafeHttpClient } from '../adapters/safe-http';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { observedSender } from '../adapters/observed-ports';
import { METRIC_SERVICE, METRICS_NAMESPACE } from '../core/metric-names';
import type { DeliverEventDeps } from '../core/deliver-event';
import type { SendTestWebhookDeps } from '../core/send-test-webhook';
import { ENV, readOutboundPolicy, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export function buildCallbackDeps(env: Env): {
  deps: DeliverEventDeps;
  sqs: SQSClient;
  deliveriesQueueUrl: string;
  deliveriesDlqUrl: string;
  webhookTest: SendTestWebhookDeps;
  /** The callback's EMF metrics (flushed per invocation by the handler's logMetrics). */
  metrics: Metrics;
} {
  // Signing secrets are sealed in the table; KMS opens each once per warm container.
  const secretSealer = cacheOpenedSecrets(createSecretSealerFromEnv(env));
  const { settings, tableName, db, jobs, batches, ledger, listings, tenants } = tablePorts(env, { secretSealer });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICE.callback });
  const outbound = readOutboundPolicy(env);
  // The webhook POST as its own subsegment of the job's trace, with its latency (observed-ports.ts).
  const sender = observedSender(createSafeHttpClient({ policy: outbound }), metrics);
  return {
    deps: {
      jobs,
      batches,
      ledger,
      listings,
      tenants,
      sender,
      attempts: createDynamoAttemptLog(db, { tableName, retentionDays: settings.retention.deliveryAttemptDays }),
      settings,
      now: () => new Date(),
      // The same sealer opens callback_headers: a burst of one batch costs one Decrypt.
      sealer: secretSealer,
      random: () => Math.random(), // read at call time, so a test can pin the jitter
    },
    sqs: createSqsClient(env),
    deliveriesQueueUrl: requireEnv(env, ENV.deliveriesQueueUrl),
    deliveriesDlqUrl: requireEnv(env, ENV.deliveriesDlqUrl),
    // POST /v1/webhooks/test: the deliveries' own sender, URL policy and signing secrets.
    webhookTest: { tenants, sender, outbound, settings, now: () => new Date() },
    metrics,
  };
}
