// Wiring: builds the callback use case's ports from the environment, once per cold start.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient, createSqsClient } from '../adapters/aws-clients';
import { cacheTenantDirectory } from '../adapters/cached-tenant-directory';
import { createDynamoAttemptLog } from '../adapters/dynamo/attempt-log';
import { createDynamoJobRepository } from '../adapters/dynamo/job-repository';
import { createDynamoTenantDirectory } from '../adapters/dynamo/tenant-directory';
import { createSafeHttpClient } from '../adapters/safe-http';
import type { DeliverEventDeps } from '../core/deliver-event';
import { ENV, readOutboundPolicy, readSettings, requireEnv } from '../runtime-config';

type Env = Record<string, string | undefined>;

export function buildCallbackDeps(env: Env): {
  deps: DeliverEventDeps;
  sqs: SQSClient;
  deliveriesQueueUrl: string;
  deliveriesDlqUrl: string;
} {
  const settings = readSettings(env);
  const tableName = requireEnv(env, ENV.tableName);
  const db = createDocumentClient(env);
  return {
    deps: {
      jobs: createDynamoJobRepository(db, { tableName, retentionDays: settings.retention.jobDays }),
      tenants: cacheTenantDirectory(createDynamoTenantDirectory(db, { tableName }), 30_000),
      sender: createSafeHttpClient({ policy: readOutboundPolicy(env) }),
      attempts: createDynamoAttemptLog(db, { tableName, retentionDays: settings.retention.deliveryAttemptDays }),
      settings,
      now: () => new Date(),
      random: Math.random,
    },
    sqs: createSqsClient(env),
    deliveriesQueueUrl: requireEnv(env, ENV.deliveriesQueueUrl),
    deliveriesDlqUrl: requireEnv(env, ENV.deliveriesDlqUrl),
  };
}
