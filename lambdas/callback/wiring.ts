// Wiring: builds the callback use case's ports from the environment, once per cold start.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../adapters/aws-clients';
import { createDynamoAttemptLog } from '../adapters/dynamo/attempt-log';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSafeHttpClient } from '../adapters/safe-http';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { observedSender } from '../adapters/observed-ports';
import { METRIC_SERVICE, METRICS_NAMESPACE } from '../core/metric-names';
import type { DeliverEventDeps } from '../core/deliver-event';
import { ENV, readOutboundPolicy, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export function buildCallbackDeps(env: Env): {
  deps: DeliverEventDeps;
  sqs: SQSClient;
  deliveriesQueueUrl: string;
  deliveriesDlqUrl: string;
  /** The callback's EMF metrics (flushed per invocation by the handler's logMetrics). */
  metrics: Metrics;
} {
  const { settings, tableName, db, jobs, tenants } = tablePorts(env);
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICE.callback });
  // The webhook POST as its own subsegment of the job's trace, with its latency (observed-ports.ts).
  const sender = observedSender(createSafeHttpClient({ policy: readOutboundPolicy(env) }), metrics);
  return {
    deps: {
      jobs,
      tenants,
      sender,
      attempts: createDynamoAttemptLog(db, { tableName, retentionDays: settings.retention.deliveryAttemptDays }),
      settings,
      now: () => new Date(),
      random: () => Math.random(), // read at call time, so a test can pin the jitter
    },
    sqs: createSqsClient(env),
    deliveriesQueueUrl: requireEnv(env, ENV.deliveriesQueueUrl),
    deliveriesDlqUrl: requireEnv(env, ENV.deliveriesDlqUrl),
    metrics,
  };
}
