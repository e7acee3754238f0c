// CLI: `metahook tenants create|list|disable|enable|rotate-secret|seal-secrets|allow-source|revoke-source|set-audio-limit` -> manage-tenants
// use cases -> (tenant table, API Gateway keys or the local key store, the stack's secrets key).
// Secrets are printed once, at create and rotate-secret, never by list, and stored only sealed.
import { newTenantId } from '../../lambdas/core/ids';
import {
  allowMediaSource,
  createTenant,
  disableTenant,
  enableTenant,
  listTenants,
  revokeMediaSource,
  rotateTenantSecret,
  sealTenantSecrets,
  setTenantAudioLimit,
  type TenantAdminDeps,
} from '../../lambdas/core/manage-tenants';
import { createDynamoTenantDirectory } from '../../lambdas/adapters/dynamo/tenant-directory';
import { formatGrant, tenantMediaPrefix } from '../../lambdas/core/media-scope';
import type { TenantRecord } from '../../lambdas/core/records';
import { redriveDeadLetters } from '../../lambdas/adapters/sqs-redrive';
import { formatRows, type OutputFormat } from '../format';
import { UsageError, type CliIo } from '../io';
import type { Target } from '../target';

export const TENANT_COMMANDS = ['create', 'list', 'disable', 'enable', 'rotate-secret', 'seal-secrets', 'allow-source', 'revoke-source', 'set-audio-limit'] as const;
export type TenantCommand = (typeof TENANT_COMMANDS)[number];

export interface TenantCommandInput {
  readonly command: TenantCommand;
  readonly name?: string;
  readonly tenant?: string;
  /** seal-secrets: count plaintext secrets, write nothing; exit 1 if any. */
  readonly check?: boolean;
  /** allow-source / revoke-source: s3://bucket/prefix/ */
  readonly source?: string;
  /** set-audio-limit: whole seconds, at most the deployment's maxAudioDurationSeconds. */
  readonly maxSeconds?: string;
  /** set-audio-limit: remove the tenant's own limit (the deployment's applies). */
  readonly clear?: boolean;
  readonly format: OutputFormat;
}

const TENANT_COLUMNS = [
  { key: 'tenant_id' },
  { key: 'name', maxWidth: 40 },
  { key: 'status' },
  { key: 'api_key_id' },
  { key: 'created_at' },
  { key: 'media_sources', maxWidth: 60 },
  { key: 'max_audio_seconds' },
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

/** Returns the exit code: 0, or 1 when `seal-secrets --check` finds plaintext secrets. */
export async function runTenantCommand(target: Target, input: TenantCommandInput, io: CliIo): Promise<number> {
  const tenants = createDynamoTenantDirectory(target.db, { tableName: target.tableName });
  const deps = async (): Promise<TenantAdminDeps> => ({
    apiKeys: await target.apiKeys(),
    tenants,
    sealer: target.sealer(),
    now: () => new Date(),
  });

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
        return 0;
      }
      io.stdout(
        [
          `Created tenant ${created.tenant.tenant_id} (${created.tenant.name}) on ${target.description}.`,
          `  API key         ${created.apiKey}`,
          `  signing secret  ${created.signingSecret}`,
          'Hand both to the integrator now over a secure channel: they are not shown again.',
        ].join('\n'),
      );
      return 0;
    }
    case 'list': {
      const all = await listTenants({ tenants });
      io.stdout(
        formatRows(
          all.map((tenant) =>
            input.format === 'json'
              ? { ...tenant, media_sources: tenant.media_sources ?? [], max_audio_seconds: tenant.max_audio_seconds ?? null }
              : { ...tenant, media_sources: sourcesCell(tenant), max_audio_seconds: tenant.max_audio_seconds ?? '-' },
          ),
          TENANT_COLUMNS,
          input.format,
        ),
      );
      return 0;
    }
    case 'disable': {
      const tenant = await disableTenant(await deps(), requireOption(input.tenant, '--tenant'));
      io.stdout(
        `Disabled tenant ${tenant.tenant_id} (${tenant.name}): its API key is refused with invalid_api_key and its ` +
          'queued jobs wait in the held-jobs queue (no alarm) until "metahook tenants enable" releases them.',
      );
      return 0;
    }
    case 'enable': {
      const tenant = await enableTenant(await deps(), requireOption(input.tenant, '--tenant'));
      // Its held jobs go back to the jobs queue, as a redrive would move them (receive, send, delete).
      const urls = await target.queueUrls();
      const released = await redriveDeadLetters(target.sqs, {
        kind: 'jobs',
        deadLetterQueueUrl: urls.jobsHeld,
        sourceQueueUrl: urls.jobs,
        filter: { tenantId: tenant.tenant_id },
      });
      io.stdout(`Enabled tenant ${tenant.tenant_id} (${tenant.name}): its API key works again; ${released.matched.length} held job(s) released to the jobs queue.`);
      return 0;
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
        return 0;
      }
      io.stdout(describeScope(tenant, limits.mediaBucket));
      return 0;
    }
    case 'set-audio-limit': {
      const tenantId = requireOption(input.tenant, '--tenant');
      if ((input.maxSeconds !== undefined) === (input.clear === true)) throw new UsageError('set-audio-limit needs either --max-seconds N or --clear');
      const deploymentMax = await target.maxAudioDurationSeconds();
      const tenant = await setTenantAudioLimit({ tenants }, tenantId, input.clear ? null : input.maxSeconds!, deploymentMax);
      const own = tenant.max_audio_seconds;
      if (input.format === 'json') {
        io.stdout(JSON.stringify({ tenant_id: tenant.tenant_id, max_audio_seconds: own ?? null, deployment_max_audio_seconds: deploymentMax }, null, 2));
        return 0;
      }
      io.stdout(
        own === undefined
          ? `Tenant ${tenant.tenant_id} (${tenant.name}) has no audio limit of its own: recordings up to the deployment's ${deploymentMax} s are taken.`
          : `Tenant ${tenant.tenant_id} (${tenant.name}) may send recordings up to ${own} s (the deployment allows ${deploymentMax} s); ` +
              'longer ones fail job.failed with file_too_long. Warm extractors apply it within 30 s (their tenant cache).',
      );
      return 0;
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
        return 0;
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
      return 0;
    }
    case 'seal-secrets': {
      const checkOnly = input.check === true;
      const report = await sealTenantSecrets({ tenants, sealer: target.sealer() }, { checkOnly });
      if (input.format === 'json') {
        io.stdout(JSON.stringify({ check: checkOnly, ...report }, null, 2));
      } else {
        const verb = checkOnly ? 'hold plaintext secrets (nothing written)' : 'sealed';
        io.stdout(
          [
            `${report.tenants} tenant(s) on ${target.description}:`,
            `  ${report.tenantsSealed} ${verb}: ${report.secretsSealed} secret(s)`,
            `  ${report.tenantsAlreadySealed} already sealed`,
            ...(report.tenantsSkipped.length
              ? [`  ${report.tenantsSkipped.length} changed by another command meanwhile, run again: ${report.tenantsSkipped.join(', ')}`]
              : []),
          ].join('\n'),
        );
      }
      const plaintextLeft = checkOnly ? report.tenantsSealed > 0 : report.tenantsSkipped.length > 0;
      return plaintextLeft ? 1 : 0;
    }
  }
}
