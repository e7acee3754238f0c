// Wiring: builds the callback use case's ports from the environment, once per cold start.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../adapters/aws-clients';
import { createDynamoAttemptLog } from '../adapters/dynamo/attempt-log';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createSafeHttpClient } from '../adapters/safe-http';
import type { DeliverEventDeps } from '../core/deliver-event';
import { ENV, readOutboundPolicy, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export function buildCallbackDeps(env: Env): {
  deps: DeliverEventDeps;
  sqs: SQSClient;
  deliveriesQueueUrl: string;
  deliveriesDlqUrl: string;
} {
  const { settings, tableName, db, jobs, batches, ledger, tenants } = tablePorts(env);
  return {
    deps: {
      jobs,
      batches,
      ledger,
      tenants,
      sender: createSafeHttpClient({ policy: readOutboundPolicy(env) }),
      attempts: createDynamoAttemptLog(db, { tableName, retentionDays: settings.retention.deliveryAttemptDays }),
      settings,
      now: () => new Date(),
      random: () => Math.random(), // read at call time, so a test can pin the jitter
    },
    sqs: createSqsClient(env),
    deliveriesQueueUrl: requireEnv(env, ENV.deliveriesQueueUrl),
    deliveriesDlqUrl: requireEnv(env, ENV.deliveriesDlqUrl),
  };
}
