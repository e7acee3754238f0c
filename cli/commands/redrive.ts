// CLI: `metahook redrive deliveries|jobs` -> sqs-redrive (receive -> send -> delete) on the
// deployment's dead-letter queues. A dry run only lists; filtered-out messages stay put.
import { redriveDeadLetters, type RedriveFilter, type RedriveQueueKind } from '../../lambdas/adapters/sqs-redrive';
import { formatRows, type OutputFormat } from '../format';
import type { CliIo } from '../io';
import { UsageError } from '../io';
import type { Target } from '../target';
import { createDynamoTenantDirectory } from '../../lambdas/adapters/dynamo/tenant-directory';

export interface RedriveInput {
  readonly kind: RedriveQueueKind;
  readonly dryRun: boolean;
  readonly filter: RedriveFilter;
  readonly max?: number;
  readonly format: OutputFormat;
  /** jobs only: from the held-jobs queue (a disabled tenant's jobs; `tenants enable` does this too). */
  readonly held?: boolean;
}

const MESSAGE_COLUMNS = [
  { key: 'jobId', header: 'job_id' },
  { key: 'batchId', header: 'batch_id' },
  { key: 'tenantId', header: 'tenant_id' },
  { key: 'reason' },
  { key: 'eventId', header: 'event_id' },
  { key: 'sentAt', header: 'dead_lettered_at' },
  { key: 'detail', maxWidth: 40 },
];

export async function runRedrive(target: Target, input: RedriveInput, io: CliIo): Promise<void> {
  if (input.held) await requireActiveTenant(target, input.filter.tenantId);
  const queues = await target.queueUrls();
  const [deadLetterQueueUrl, sourceQueueUrl] =
    input.kind === 'jobs' ? [input.held ? queues.jobsHeld : queues.jobsDeadLetter, queues.jobs] : [queues.deliveriesDeadLetter, queues.deliveries];
  const report = await redriveDeadLetters(target.sqs, {
    kind: input.kind,
    deadLetterQueueUrl,
    sourceQueueUrl,
    filter: input.filter,
    dryRun: input.dryRun,
    ...(input.max !== undefined ? { max: input.max } : {}),
  });
  const rows = report.matched.map((message) => ({ ...message }) as Record<string, unknown>);
  if (rows.length > 0 || input.format !== 'table') io.stdout(formatRows(rows, MESSAGE_COLUMNS, input.format).trimEnd());
  const verb = report.dryRun ? 'would move' : 'moved';
  io.stderr(
    `${input.kind}: ${verb} ${report.matched.length} message(s) back to the source queue; ` +
      `${report.leftInPlace} left in the dead-letter queue${report.dryRun ? ' (dry run: nothing changed)' : ''}.`,
  );
}

/** A still-disabled tenant's jobs would only be held again (and met again by this same run). */
async function requireActiveTenant(target: Target, tenantId: string | undefined): Promise<void> {
  if (!tenantId) throw new UsageError('redrive jobs --held needs --tenant ID');
  const tenant = await createDynamoTenantDirectory(target.db, { tableName: target.tableName }).getTenant(tenantId);
  if (tenant?.status !== 'active') {
    throw new UsageError(`tenant ${tenantId} is not active: "tenants enable --tenant ${tenantId}" enables it and releases its held jobs`);
  }
}
