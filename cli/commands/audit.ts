// CLI: `metahook audit deliveries|job` -> audit-reader (Queries on documented keys and indexes
// only) -> formatted for people (table), spreadsheets (csv) or scripts (json).
import { redactUrl } from '../../lambdas/core/deliver-event';
import type { DeliveryAttemptRecord } from '../../lambdas/core/records';
import { createDynamoAuditReader, type AttemptOutcomeFilter, type JobStory } from '../../lambdas/adapters/dynamo/audit-reader';
import { formatRows, formatTable, printable, type Column, type OutputFormat } from '../format';
import { UsageError, type CliIo } from '../io';
import type { Target } from '../target';

export interface AuditDeliveriesInput {
  readonly tenant: string;
  readonly since: Date;
  readonly until: Date;
  readonly outcome?: AttemptOutcomeFilter;
  readonly format: OutputFormat;
}

export const ATTEMPT_COLUMNS: readonly Column[] = [
  { key: 'started_at' },
  { key: 'outcome' },
  { key: 'event_type' },
  { key: 'job_id' },
  { key: 'batch_id' },
  { key: 'attempt' },
  { key: 'http_status' },
  { key: 'error_class', maxWidth: 24 },
  { key: 'duration_ms' },
  { key: 'event_id' },
  { key: 'url', maxWidth: 48 },
];

/** CSV and JSON carry everything stored, including the first 1 KB of the receiver's answer. */
const FULL_ATTEMPT_COLUMNS: readonly Column[] = [...ATTEMPT_COLUMNS, { key: 'response_body' }];

export function parseInstant(raw: string | undefined, flag: string): Date {
  if (raw === undefined) throw new UsageError(`${flag} is required (ISO 8601, e.g. 2026-01-31T00:00:00Z)`);
  // Date-only strings are midnight UTC; anything Date.parse accepts that names a real instant.
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${flag} must be an ISO 8601 timestamp, got "${raw}"`);
  return date;
}

export function parseOutcome(raw: string | undefined): AttemptOutcomeFilter | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'delivered' || raw === 'failed') return raw;
  throw new UsageError('--outcome must be delivered or failed');
}

export async function auditDeliveries(target: Target, input: AuditDeliveriesInput, io: CliIo): Promise<number> {
  if (input.since.getTime() >= input.until.getTime()) throw new UsageError('--since must be before --until');
  const reader = createDynamoAuditReader(target.db, { tableName: target.tableName });
  const attempts = await reader.listAttempts(input.tenant, {
    since: input.since,
    until: input.until,
    ...(input.outcome ? { outcome: input.outcome } : {}),
  });
  const rows = attempts.map((attempt) => ({ ...attempt }) as Record<string, unknown>);
  io.stdout(formatRows(rows, input.format === 'table' ? ATTEMPT_COLUMNS : FULL_ATTEMPT_COLUMNS, input.format).trimEnd());
  if (input.format === 'table') {
    const failed = attempts.filter((attempt) => attempt.outcome !== 'delivered').length;
    io.stderr(`${attempts.length} attempt(s), ${failed} not delivered, ${input.since.toISOString()} to ${input.until.toISOString()}`);
  }
  return attempts.length;
}

export async function auditJob(
  target: Target,
  input: { readonly tenant: string; readonly jobId: string; readonly format: OutputFormat },
  io: CliIo,
): Promise<boolean> {
  const reader = createDynamoAuditReader(target.db, { tableName: target.tableName });
  const story = await reader.readJobStory(input.tenant, input.jobId);
  if (!story) {
    io.stderr(`No job ${input.jobId} for tenant ${input.tenant} (wrong tenant, or expired after the retention period).`);
    return false;
  }
  io.stdout(input.format === 'json' ? JSON.stringify(redactStory(story), null, 2) : formatStory(story));
  return true;
}

/** Callback URLs may carry tokens in their query: audit output shows them redacted, like the attempt log. */
function redactStory(story: JobStory): JobStory {
  return {
    ...story,
    job: { ...story.job, callback_url: redactUrl(story.job.callback_url) },
    ...(story.batch ? { batch: { ...story.batch, callback_url: redactUrl(story.batch.callback_url) } } : {}),
  };
}

const json = (value: unknown) => (value === undefined || value === null ? '-' : JSON.stringify(value));

function attemptTable(attempts: readonly DeliveryAttemptRecord[]): string {
  if (attempts.length === 0) return '  (none)\n';
  const rows = attempts.map((attempt) => ({ ...attempt }) as Record<string, unknown>);
  const columns: Column[] = [
    { key: 'started_at' },
    { key: 'event_type' },
    { key: 'attempt' },
    { key: 'outcome' },
    { key: 'http_status' },
    { key: 'error_class', maxWidth: 24 },
    { key: 'duration_ms' },
    { key: 'event_id' },
    { key: 'response_body', maxWidth: 40 },
  ];
  return formatTable(rows, columns)
    .split('\n')
    .map((line) => (line ? `  ${line}` : line))
    .join('\n');
}

export function formatStory(story: JobStory): string {
  const { job, batch } = story;
  const field = (label: string, value: unknown) => `  ${label.padEnd(18)}${printable(typeof value === 'string' ? value : json(value))}`;
  const delivery = job.delivery;
  const lines = [
    `Job ${job.job_id} (tenant ${job.tenant_id})`,
    'Request',
    field('url', job.url),
    field('declared type', job.declared_media_type ?? '-'),
    field('external id', job.external_id ?? '-'),
    field('callback url', redactUrl(job.callback_url)),
    field('metadata', job.metadata),
    'State',
    field('status', job.status),
    field('created (queued)', job.created_at),
    field('last change', job.updated_at),
    field('finished', job.finished_at ?? '-'),
    field('extraction runs', job.processing_attempts ?? 0),
    ...(job.lease_until ? [field('lease until', job.lease_until)] : []),
    'Outcome',
    field('media type', job.media_type ?? '-'),
    field('source', job.source),
    field('model', job.model ? `${job.model.provider} ${job.model.id}` : '-'),
    field('usage', job.usage),
    field('result', job.result),
    field('error', job.error ? `${job.error.code}: ${job.error.message}${job.error.retryable ? ' (retryable)' : ''}` : '-'),
    'Delivery',
    field('status', delivery.status),
    field('attempts', delivery.attempts),
    field('webhook-id', delivery.event_id ?? '-'),
    field('last status code', delivery.last_status_code ?? '-'),
    field('last error', delivery.last_error ?? '-'),
    field('updated', delivery.updated_at ?? '-'),
    `Delivery attempts (${story.attempts.length})`,
  ];
  let text = lines.join('\n') + '\n' + attemptTable(story.attempts);
  if (batch) {
    text += [
      `Batch ${batch.batch_id}`,
      field('created', batch.created_at),
      field('jobs', `${batch.total} new, ${batch.duplicate_job_ids.length} duplicate(s)`),
      field('finished', `${batch.counts.completed} completed, ${batch.counts.failed} failed, ${batch.counts.cancelled} cancelled`),
      field('batch.completed', batch.completed_event_at ?? 'not yet'),
      field('delivery', batch.delivery ? `${batch.delivery.status} after ${batch.delivery.attempts} attempt(s)` : '-'),
      `Batch delivery attempts (${story.batchAttempts.length})`,
    ].join('\n');
    text += '\n' + attemptTable(story.batchAttempts);
  } else {
    text += `Batch ${job.batch_id}: not found (expired)\n`;
  }
  return text.trimEnd();
}
