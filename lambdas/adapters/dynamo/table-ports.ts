// Wiring helper: the table-backed ports every handler builds the same way (job repository,
// cached tenant directory), from the environment, once per cold start.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Settings } from '../../../lib/settings';
import type { JobRepository, SecretSealer, TenantDirectory } from '../../core/ports';
import { ENV, readSettings, requireEnv } from '../../runtime-config';
import { createDocumentClient } from '../aws-clients';
import { cacheTenantDirectory } from '../cached-tenant-directory';
import { createDynamoJobRepository } from './job-repository';
import { createDynamoTenantDirectory } from './tenant-directory';

/** How long a warm Lambda trusts a tenant lookup: a disable or rotation lands within this. */
const TENANT_CACHE_MS = 30_000;

export interface TablePorts {
  readonly settings: Settings;
  readonly tableName: string;
  readonly db: DynamoDBDocumentClient;
  readonly jobs: JobRepository;
  readonly tenants: TenantDirectory;
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
    jobs: createDynamoJobRepository(db, { tableName, retentionDays: settings.retention.jobDays }),
    tenants: cacheTenantDirectory(
      createDynamoTenantDirectory(db, { tableName, ...(options.secretSealer ? { sealer: options.secretSealer } : {}) }),
      TENANT_CACHE_MS,
    ),
  };
}
