// CLI: `metahook tenants create|list|disable|enable|rotate-secret|allow-source|revoke-source` -> manage-tenants use cases
// -> (tenant table, API Gateway keys or the local key store). Secrets are printed once, at
// create and rotate-secret, and never by list.
import { newTenantId } from '../../lambdas/core/ids';
import {
  allowMediaSource,
  createTenant,
  disableTenant,
  enableTenant,
  listTenants,
  revokeMediaSource,
  rotateTenantSecret,
  type TenantAdminDeps,
} from '../../lambdas/core/manage-tenants';
import { createDynamoTenantDirectory } from '../../lambdas/adapters/dynamo/tenant-directory';
import { formatGrant, tenantMediaPrefix } from '../../lambdas/core/media-scope';
import type { TenantRecord } from '../../lambdas/core/records';
import { formatRows, type OutputFormat } from '../format';
import { UsageError, type CliIo } from '../io';
import type { Target } from '../target';

export const TENANT_COMMANDS = ['create', 'list', 'disable', 'enable', 'rotate-secret', 'allow-source', 'revoke-source'] as const;
export type TenantCommand = (typeof TENANT_COMMANDS)[number];

export interface TenantCommandInput {
  readonly command: TenantCommand;
  readonly name?: string;
  readonly tenant?: string;
  /** allow-source / revoke-source: s3://bucket/prefix/ */
  readonly source?: string;
  readonly format: OutputFormat;
}

const TENANT_COLUMNS = [
  { key: 'tenant_id' },
  { key: 'name', maxWidth: 40 },
  { key: 'status' },
  { key: 'api_key_id' },
  { key: 'created_at' },
  { key: 'media_sources', maxWidth: 60 },
];

/** Table cell: the grants, space-separated; the upload prefix is implicit and not listed. */
const sourcesCell = (tenant: TenantRecord): string => (tenant.media_sources ?? []).map(formatGrant).join(' ') || '-';

function describeScope(tenant: TenantRecord, mediaBucket: string): string {
  const grants = (tenant.media_sources ?? []).map((grant) => `  ${formatGrant(grant)}`);
  return [
    `Tenant ${tenant.tenant_id} (${tenant.name}) may reference:`,
    `  s3://${mediaBucket}/${tenantMediaPrefix(tenant.tenant_id)}  (its own uploads, always)`,
    ...grants,
  ].join('\n');
}

function requireOption(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${flag} is required`);
  return value;
}

export async function runTenantCommand(target: Target, input: TenantCommandInput, io: CliIo): Promise<void> {
  const tenants = createDynamoTenantDirectory(target.db, { tableName: target.tableName });
  const deps = async (): Promise<TenantAdminDeps> => ({ apiKeys: await target.apiKeys(), tenants, now: () => new Date() });

  switch (input.command) {
    case 'create': {
      const name = requireOption(input.name, '--name');
      const created = await createTenant({ ...(await deps()), newTenantId }, { name });
      if (input.format === 'json') {
        io.stdout(
          JSON.stringify(
            { ...created.tenant, api_key: created.apiKey, signing_secret: created.signingSecret },
            null,
            2,
          ),
        );
        return;
      }
      io.stdout(
        [
          `Created tenant ${created.tenant.tenant_id} (${created.tenant.name}) on ${target.description}.`,
          `  API key         ${created.apiKey}`,
          `  signing secret  ${created.signingSecret}`,
          'Hand both to the integrator now over a secure channel: they are not shown again.',
        ].join('\n'),
      );
      return;
    }
    case 'list': {
      const all = await listTenants({ tenants });
      io.stdout(
        formatRows(
          all.map((tenant) => (input.format === 'json' ? { ...tenant, media_sources: tenant.media_sources ?? [] } : { ...tenant, media_sources: sourcesCell(tenant) })),
          TENANT_COLUMNS,
          input.format,
        ),
      );
      return;
    }
    case 'disable': {
      const tenant = await disableTenant(await deps(), requireOption(input.tenant, '--tenant'));
      io.stdout(
        `Disabled tenant ${tenant.tenant_id} (${tenant.name}): its API key is refused with invalid_api_key and its ` +
          'queued jobs are held in the jobs dead-letter queue. After enabling it again, move them back with ' +
          `"metahook redrive jobs --tenant ${tenant.tenant_id}".`,
      );
      return;
    }
    case 'enable': {
      const tenant = await enableTenant(await deps(), requireOption(input.tenant, '--tenant'));
      io.stdout(`Enabled tenant ${tenant.tenant_id} (${tenant.name}): its API key works again.`);
      return;
    }
    case 'allow-source':
    case 'revoke-source': {
      const tenantId = requireOption(input.tenant, '--tenant');
      const source = requireOption(input.source, '--source');
      const limits = await target.mediaSourceLimits();
      const tenant =
        input.command === 'allow-source'
          ? await allowMediaSource({ tenants }, tenantId, source, limits)
          : await revokeMediaSource({ tenants }, tenantId, source);
      if (input.format === 'json') {
        io.stdout(JSON.stringify({ tenant_id: tenant.tenant_id, media_sources: tenant.media_sources ?? [] }, null, 2));
        return;
      }
      io.stdout(describeScope(tenant, limits.mediaBucket));
      return;
    }
    case 'rotate-secret': {
      const rotated = await rotateTenantSecret(await deps(), requireOption(input.tenant, '--tenant'));
      if (input.format === 'json') {
        io.stdout(
          JSON.stringify(
            {
              tenant_id: rotated.tenant.tenant_id,
              signing_secret: rotated.signingSecret,
              previous_secret_expires_at: rotated.previousSecretExpiresAt,
            },
            null,
            2,
          ),
        );
        return;
      }
      io.stdout(
        [
          `New signing secret for tenant ${rotated.tenant.tenant_id} (${rotated.tenant.name}):`,
          `  signing secret  ${rotated.signingSecret}`,
          rotated.previousSecretExpiresAt
            ? `Callbacks carry signatures from both the new and the previous secret until ${rotated.previousSecretExpiresAt}; ` +
              'the receiver should switch to the new secret before then.'
            : 'There was no previous secret: callbacks are signed with the new one only.',
          'Hand it to the integrator now: it is not shown again.',
        ].join('\n'),
      );
      return;
    }
  }
}
