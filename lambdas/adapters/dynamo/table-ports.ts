// Wiring helper: the table-backed ports every handler builds the same way (the job store's
// ports by concern, cached tenant directory), from the environment, once per cold start.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Settings } from '../../../lib/settings';
import type {
  BatchProgressStore,
  DedupeClaims,
  DeliveryLedger,
  EnqueueOutbox,
  JobLifecycle,
  JobListings,
  SecretSealer,
  TenantDirectory,
} from '../../core/ports';
import { ENV, readSettings, requireEnv } from '../../runtime-config';
import { createDocumentClient } from '../aws-clients';
import { cacheTenantDirectory } from '../cached-tenant-directory';
import { createDynamoBatchProgress } from './batch-progress';
import { createDynamoDedupeClaims } from './dedupe-claims';
import { createDynamoDeliveryLedger } from './delivery-ledger';
import { createDynamoEnqueueOutbox } from './enqueue-outbox';
import { createDynamoJobLifecycle } from './job-lifecycle';
import { createDynamoJobListings } from './job-listings';
import { createDynamoTenantDirectory } from './tenant-directory';
import type { JobTableOptions } from './table-io';

/** How long a warm Lambda trusts a tenant lookup: a disable or rotation lands within this. */
const TENANT_CACHE_MS = 30_000;

/** The job store's ports, one per concern. */
export interface JobStorePorts {
  readonly claims: DedupeClaims;
  readonly outbox: EnqueueOutbox;
  readonly jobs: JobLifecycle;
  readonly batches: BatchProgressStore;
  readonly ledger: DeliveryLedger;
  readonly listings: JobListings;
}

export interface TablePorts extends JobStorePorts {
  readonly settings: Settings;
  readonly tableName: string;
  readonly db: DynamoDBDocumentClient;
  readonly tenants: TenantDirectory;
}

export function createDynamoJobStore(db: DynamoDBDocumentClient, options: JobTableOptions): JobStorePorts {
  return {
    claims: createDynamoDedupeClaims(db, options),
    outbox: createDynamoEnqueueOutbox(db, options),
    jobs: createDynamoJobLifecycle(db, options),
    batches: createDynamoBatchProgress(db, options),
    ledger: createDynamoDeliveryLedger(db, options),
    listings: createDynamoJobListings(db, options),
  };
}

/**
 * secretSealer: lets the tenant directory open signing secrets. Only the callback passes one; the
 * other handlers' directories refuse getSigningSecrets (and their roles may not decrypt anyway).
 */
export function tablePorts(
  env: Record<string, string | undefined>,
  options: { readonly secretSealer?: Pick<SecretSealer, 'open'> } = {},
): TablePorts {
  const settings = readSettings(env);
  const tableName = requireEnv(env, ENV.tableName);
  const db = createDocumentClient(env);
  return {
    settings,
    tableName,
    db,
    ...createDynamoJobStore(db, { tableName, retentionDays: settings.retention.jobDays, openBatchCheckSeconds: settings.sweeper.openBatchCheckSeconds }),
    tenants: cacheTenantDirectory(
      createDynamoTenantDirectory(db, { tableName, ...(options.secretSealer ? { sealer: options.secretSealer } : {}) }),
      TENANT_CACHE_MS,
    ),
  };
}
