// The deferred announcement's DynamoDB side against a real emulator (dynalite): a finished job
// whose webhooks the extractor could not queue on its last receive goes back into the lease index
// with its messages (JobLifecycle.deferAnnouncement); the stalled-job sweep's claim hands them back
// as an announcement, not a requeue, and closing it takes the job out of the index again.
import { describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_NAMES } from '../../local/resources';
import { useEmulatedTable } from '../support/emulated-table';
import { createDynamoJobLifecycle } from '../../lambdas/adapters/dynamo/job-lifecycle';
import { createDynamoStalledJobs } from '../../lambdas/adapters/dynamo/stalled-jobs';
import { keys } from '../../lambdas/adapters/dynamo/keys';
import type { DeliveryMessage } from '../../lambdas/core/ports';

const NOW = new Date('2026-01-01T00:10:00.000Z');
const LATER = new Date('2026-01-01T00:20:00.000Z');
const table = useEmulatedTable();

const put = (jobId: string, status: string, extra: Record<string, unknown> = {}) =>
  table.db.send(new PutCommand({
    TableName: LOCAL_NAMES.table,
    Item: { ...keys.job('ten_1', jobId), entity: 'job', job_id: jobId, tenant_id: 'ten_1', batch_id: 'bat_1', status, updated_at: NOW.toISOString(), ...extra },
  }));
const item = async (jobId: string) => (await table.db.send(new GetCommand({ TableName: LOCAL_NAMES.table, Key: keys.job('ten_1', jobId), ConsistentRead: true }))).Item!;

describe('deferred announcement of a finished job', () => {
  const lifecycle = () => createDynamoJobLifecycle(table.db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
  const stalled = () => createDynamoStalledJobs(table.db, { tableName: LOCAL_NAMES.table });
  const messages: DeliveryMessage[] = [
    { kind: 'job', tenant_id: 'ten_1', job_id: 'job_DONE', event_id: 'msg_DONE_completed' },
    { kind: 'batch', tenant_id: 'ten_1', batch_id: 'bat_1', event_id: 'msg_1_batch' },
  ];

  it('is stored only on a finished job, found by the sweep, claimed as an announcement and closed', async () => {
    await put('job_DONE', 'completed');
    await put('job_BUSY', 'processing', { ...keys.leaseIndex('ten_1', 'job_BUSY', LATER), lease_until: LATER.toISOString() });
    expect(await lifecycle().deferAnnouncement('ten_1', 'job_DONE', messages, NOW)).toBe(true);
    // A job in flight is in the index under its lease already: nothing to announce for it.
    expect(await lifecycle().deferAnnouncement('ten_1', 'job_BUSY', messages, NOW)).toBe(false);
    expect((await item('job_BUSY')).pending_announcements).toBeUndefined();

    const overdue = await stalled().listOverdue(new Date(NOW.getTime() + 1000), 10);
    expect(overdue).toEqual([{ tenantId: 'ten_1', jobId: 'job_DONE', deadline: NOW.toISOString() }]);
    const claim = await stalled().claimRequeue(overdue[0]!, NOW, () => LATER);
    expect(claim).toEqual({ kind: 'announce', requeues: 1, deadline: LATER.toISOString(), messages });
    // A second sweep with the same listing is refused: the claim moved the entry on.
    expect(await stalled().claimRequeue(overdue[0]!, NOW, () => LATER)).toBeUndefined();

    await stalled().closeAnnouncement({ tenantId: 'ten_1', jobId: 'job_DONE', deadline: LATER.toISOString() });
    const closed = await item('job_DONE');
    expect([closed.gsi3pk, closed.gsi3sk, closed.pending_announcements, closed.status]).toEqual([undefined, undefined, undefined, 'completed']);
  });

  it('claims a job in flight as a requeue, and a finished one in the index without messages not at all', async () => {
    const deadline = new Date('2026-01-01T00:01:00.000Z');
    await put('job_LOST', 'processing', { ...keys.leaseIndex('ten_1', 'job_LOST', deadline), lease_until: deadline.toISOString() });
    await put('job_ODD', 'failed', { ...keys.leaseIndex('ten_1', 'job_ODD', deadline) });
    const found = { tenantId: 'ten_1', deadline: deadline.toISOString() };
    expect(await stalled().claimRequeue({ ...found, jobId: 'job_LOST' }, NOW, () => LATER)).toEqual({ kind: 'requeue', requeues: 1, deadline: LATER.toISOString() });
    expect(await stalled().claimRequeue({ ...found, jobId: 'job_ODD' }, NOW, () => LATER)).toBeUndefined();
  });

  it('finishing a redriven job clears an earlier deferred announcement', async () => {
    await put('job_REDO', 'processing', { lease_until: LATER.toISOString(), pending_announcements: messages, ...keys.leaseIndex('ten_1', 'job_REDO', LATER) });
    const job = { tenant_id: 'ten_1', job_id: 'job_REDO', status: 'processing' } as never;
    const result = { summary: 's' } as never;
    expect(await lifecycle().finish(job, { status: 'completed', result, mediaType: 'image', model: 'local', source: 'local' } as never, NOW)).toBe(true);
    expect((await item('job_REDO')).pending_announcements).toBeUndefined();
  });
});
