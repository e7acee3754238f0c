// The representative subset of the fault-injection matrix (the full one: `npm run test:faults`,
// scripts/fault-matrix.ts). One AWS call of one handler fails (before sending, after committing,
// or by hanging until the function's timeout) while a well-behaved client POSTs 4 files; every
// accepted file must end in one terminal event under one webhook-id (or a dead letter with a
// reason), with one job per file and one batch.completed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../support/local-harness';
import { deadLetters, discoverCallSites, lastReceiveScenarios, lastReceiveStallScenarios, runScenario, scenarioId, startFaultStack, type CallSite } from '../support/fault-matrix';
import { injectFault, type FaultMode } from '../support/aws-intercept';
import { createDynamoJobStore } from '../../lambdas/adapters/dynamo/table-ports';
import type { BatchRecord, JobRecord } from '../../lambdas/core/records';

let h: Harness;
let sites: CallSite[];

beforeAll(async () => {
  h = await startFaultStack();
  sites = await discoverCallSites(h);
});

afterAll(async () => {
  await h?.stop();
});

type Pick = readonly [functionName: string, service: string, operation: string, occurrence: number, mode: FaultMode];

// Chosen to cover each handler and each fault mode, and each intake write that once lost or
// duplicated files (claims, job writes, messages: docs/data-model.md, "Intake recovery").
// The extractor's lost UpdateItem responses (startProcessing committed, reported failed) and a hung
// S3 read used to leave the job `processing` under a live lease: the same message now takes its own
// lease back (docs/data-model.md, "Recovery paths").
const SUBSET: readonly Pick[] = [
  ['metahook-intake', 'DynamoDB', 'GetItem', 1, 'hang'],
  ['metahook-intake', 'DynamoDB', 'PutItem', 1, 'before'],
  ['metahook-intake', 'DynamoDB', 'PutItem', 2, 'after'],
  ['metahook-intake', 'DynamoDB', 'BatchWriteItem', 1, 'before'],
  ['metahook-intake', 'DynamoDB', 'BatchWriteItem', 1, 'after'],
  ['metahook-intake', 'SQS', 'SendMessageBatch', 1, 'before'],
  ['metahook-intake', 'SQS', 'SendMessageBatch', 1, 'after'],
  ['metahook-extractor', 'DynamoDB', 'GetItem', 1, 'hang'],
  ['metahook-extractor', 'DynamoDB', 'UpdateItem', 1, 'before'],
  ['metahook-extractor', 'DynamoDB', 'UpdateItem', 1, 'after'],
  ['metahook-extractor', 'DynamoDB', 'UpdateItem', 2, 'after'],
  ['metahook-extractor', 'S3', 'GetObject', 1, 'after'],
  ['metahook-extractor', 'S3', 'GetObject', 1, 'hang'],
  ['metahook-extractor', 'SQS', 'SendMessageBatch', 1, 'after'],
  ['metahook-callback', 'DynamoDB', 'GetItem', 1, 'before'],
  // The callback's job reads are one BatchGetItem per SQS batch, or one Query for a lone record
  // (job + delivery summary, job-reads.ts); its GetItems are the tenant and batch-metadata reads,
  // whose count depends on how messages were batched and cached: fault the first one.
  ['metahook-callback', 'DynamoDB', 'GetItem', 1, 'after'],
  ['metahook-callback', 'DynamoDB', 'PutItem', 1, 'after'],
  ['metahook-callback', 'DynamoDB', 'UpdateItem', 1, 'hang'],
  ['metahook-callback', 'DynamoDB', 'UpdateItem', 2, 'after'],
  // Opening the sealed signing secret: a KMS that never answers must not lose the delivery.
  ['metahook-callback', 'KMS', 'Decrypt', 1, 'hang'],
];

describe('fault injection (subset)', () => {
  it('finds the AWS calls of every handler in a clean run', () => {
    const functions = new Set(sites.map((s) => s.functionName));
    expect([...functions].sort()).toEqual(['metahook-callback', 'metahook-extractor', 'metahook-intake']);
    for (const [functionName, service, operation, occurrence] of SUBSET) {
      const site = sites.find((s) => s.functionName === functionName && s.service === service && s.operation === operation);
      expect(site, `${functionName} ${service}:${operation}`).toBeDefined();
      expect(site!.count).toBeGreaterThanOrEqual(occurrence);
    }
  });

  for (const [functionName, service, operation, occurrence, mode] of SUBSET) {
    const id = scenarioId(functionName, service, operation, occurrence, mode);
    it(id, async () => {
      const result = await runScenario(h, { id, fault: { functionName, service, operation, occurrence, mode } });
      expectFaultFiredAndNothingLost(result);
      expect(result.passed).toBe(true);
    }, 45_000);
  }
});

/** The fault happened, and every file still ended exactly once with nothing stuck. */
function expectFaultFiredAndNothingLost(result: Awaited<ReturnType<typeof runScenario>>): void {
  expect(result.faultFired).toBe(true);
  expect({ lost: result.lost, duplicated: result.duplicated, stuck: result.stuck, notes: result.notes }).toEqual({
    lost: 0,
    duplicated: 0,
    stuck: 0,
    notes: [],
  });
}

describe('fault injection on the last receive SQS allows', () => {
  // The extractor's batch-progress write fails (or commits and reports failure) on the job message's
  // last receive: the job is terminal and its message dead-lettered (handler_error), so no receive
  // will record its slot again. Only the sweeper's open-batch sweep, reading the jobs' own states,
  // can still announce the batch (docs/data-model.md, "Recovery paths").
  // The webhook SendMessageBatch failing there: the extractor hands the finished job's webhooks to
  // the sweeper (deferAnnouncement) instead of letting SQS dead-letter the message by count. The
  // cheapest of those scenarios here; all of them in `npm run test:faults -- --only webhook`.
  const subset = lastReceiveScenarios(['before', 'after'])
    .filter((s) => s.id.includes('UpdateItem(progress)') || s.id.includes('SendMessageBatch(job webhooks)#1 after'));
  for (const scenario of subset) {
    it(scenario.id, async () => {
      const result = await runScenario(h, scenario, undefined, 40_000);
      expectFaultFiredAndNothingLost(result);
    }, 60_000);
  }
});

describe('a call that answers after the last receive gave up on its record', () => {
  // On the last receive, the extractor dead-letters a record that would outlast the invocation
  // (handler_timeout) and returns; the work it gave up on is still running and carries on when the
  // stalled call answers, here after the invocation is over (on Lambda: in a later invocation of
  // the same environment). Its batch-mates, which finished in time, must neither wait for it nor be
  // dead-lettered with it; the late work must neither be lost in a buffer nobody flushes nor
  // announce twice.
  it('dead-letters only that record, in time, and every file still ends once', async () => {
    // The S3 read of one file; every extractor call stalled this way: `npm run test:faults -- --only stall`.
    const [scenario] = lastReceiveStallScenarios(sites.filter((site) => site.service === 'S3' && site.operation === 'GetObject'));
    const tenant = await h.stack.createTenant(`stall ${Date.now()}`);
    const result = await runScenario(h, scenario!, tenant, 40_000);
    expectFaultFiredAndNothingLost(result);
    // Only the stalled record: before, its batch-mates waited on its progress past the same budget
    // and were dead-lettered with it (and its late batch.completed sat in a buffer nobody flushed).
    const letters = deadLetters(h, tenant.tenant.tenant_id);
    expect(letters.map((letter) => letter.reason)).toEqual(['handler_timeout']);
    // And the late work, once its call answered, delivered its job (a redrive would repeat that webhook-id).
    expect(result.deadLettered).toBe(0);
  }, 60_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const terminalIds = (harness: Harness, path: string, type: string) =>
  new Set(harness.receiver.received.filter((r) => r.path === path && r.payload?.type === type).map((r) => r.payload!.id));

describe('recovery paths the 4-file matrix cannot reach', () => {
  it('requeues a job left processing past its lease with no message, and it ends in one job.completed', async () => {
    // A job message lost after the job started (dead-lettered by count while the extractor could not
    // fail the job, or expired): the job is processing under a lease that ran out, and nothing will
    // receive it again. Only the sweeper's lease index can find it.
    const store = createDynamoJobStore(h.stack.db, { tableName: h.stack.names.table, retentionDays: 1 });
    const now = new Date();
    const ids = { tenant: h.stack.tenantId, batch: `bat_LOST${now.getTime()}`, job: `job_LOST${now.getTime()}` };
    const path = `/lost/${ids.job}`;
    const job: JobRecord = {
      job_id: ids.job, tenant_id: ids.tenant, batch_id: ids.batch, url: await h.upload('graphic.png', `lost/${ids.job}.png`),
      external_id: 'lost', declared_media_type: null, callback_url: `${h.receiver.url}${path}`, metadata: null,
      status: 'queued', created_at: now.toISOString(), updated_at: now.toISOString(),
      delivery: { status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null },
    };
    const batch: BatchRecord = {
      batch_id: ids.batch, tenant_id: ids.tenant, callback_url: job.callback_url, metadata: null, job_ids: [ids.job],
      duplicate_job_ids: [], total: 1, counts: { completed: 0, failed: 0, cancelled: 0 }, created_at: now.toISOString(),
    };
    await store.jobs.createBatch(batch, [job]);
    const started = await store.jobs.startProcessing(ids.tenant, ids.job, now, { until: new Date(now.getTime() - 1000), owner: 'a-lost-message' });
    expect(started.started).toBe(true);

    await h.receiver.waitFor(() => terminalIds(h, path, 'batch.completed').size > 0, 30_000);
    await sleep(1500); // late duplicates
    expect([...terminalIds(h, path, 'job.completed')]).toEqual([`msg_${ids.job.replace(/^job_/, '')}_completed`]);
    expect(terminalIds(h, path, 'job.failed').size).toBe(0);
    expect(terminalIds(h, path, 'batch.completed').size).toBe(1);
    const stored = await h.job(ids.job);
    expect(stored).toMatchObject({ status: 'completed', requeues: 1, processing_attempts: 2 });
    expect(stored!.gsi3pk).toBeUndefined(); // out of the lease index once terminal
  }, 45_000);

  it('a batch whose job writes failed part-way still emits its batch.completed, and every file one job event', async () => {
    // 30 files: the batch and progress items and the first jobs go in the first BatchWriteItem (25
    // items), the rest in the second, which fails.
    const { tenant, apiKey } = await h.stack.createTenant('orphan batch');
    const path = `/orphan/${tenant.tenant_id}`;
    const files = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => ({ url: await h.upload('graphic.png', `orphan/${i}.png`, tenant.tenant_id), external_id: `f${i}` })),
    );
    const armed = injectFault({
      functionName: 'metahook-intake', service: 'DynamoDB', operation: 'BatchWriteItem', occurrence: 2, mode: 'before',
      match: (call) => JSON.stringify(call.input).includes(tenant.tenant_id),
    });
    const body = JSON.stringify({ callback_url: `${h.receiver.url}${path}`, files });
    const statuses: number[] = [];
    let accepted: any;
    try {
      for (let tries = 0; tries < 20 && !accepted; tries++) {
        const response = await fetch(`${h.stack.endpoint}/v1/jobs`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body,
        });
        statuses.push(response.status);
        if (response.status === 202) accepted = await response.json();
        else await sleep(1000);
      }
    } finally {
      armed.disarm();
    }
    expect(armed.fired()).toBe(true);
    expect(statuses[0]).toBe(500);
    // The first request's written jobs come back as duplicates; the retry's batch holds the rest.
    const written = accepted.jobs.filter((j: any) => j.duplicate).length as number;
    expect(written).toBeGreaterThan(20);
    expect(written).toBeLessThan(30);

    const jobEvents = () => h.receiver.received.filter((r) => r.path === path && r.payload?.type.startsWith('job.'));
    await h.receiver
      .waitFor(() => terminalIds(h, path, 'batch.completed').size >= 2 && jobEvents().length >= 30, 60_000)
      .catch(() => undefined); // the assertions below say what is missing
    await sleep(1500);
    const perFile = new Map<string, Set<string>>();
    for (const event of jobEvents()) {
      const id = event.payload!.data.external_id as string;
      perFile.set(id, (perFile.get(id) ?? new Set()).add(event.payload!.id));
    }
    expect({ files: perFile.size, batches: [...terminalIds(h, path, 'batch.completed')] }).toMatchObject({ files: 30 });
    expect([...perFile.values()].every((ids) => ids.size === 1)).toBe(true);
    // One batch.completed for the retry's batch (its new jobs) and one for the first, cut down to its written jobs.
    const batches = h.receiver.received.filter((r) => r.path === path && r.payload?.type === 'batch.completed');
    expect(new Set(batches.map((b) => b.payload!.id)).size).toBe(2);
    const totals = [...new Map(batches.map((b) => [b.payload!.id, b.payload!.data.total as number])).values()];
    expect(totals.sort((a, b) => a - b)).toEqual([30 - written, written].sort((a, b) => a - b));
  }, 120_000);
});
