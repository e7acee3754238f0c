// Test support: the fault-injection matrix (issue 17). One local stack with compressed timings;
// each scenario gets its own tenant, so the fault can be aimed at that scenario's calls only
// (every call about a job carries its tenant id) and its outcome read from its own events.
//
// A scenario: a well-behaved client POSTs 4 files with an Idempotency-Key and retries the same body
// and key on 5xx, 409 (in progress) or timeout, while ONE AWS call of one handler fails
// (before sending, after committing, or by hanging until the function's timeout). It passes when
// every accepted file ends in exactly one terminal event (one webhook-id; repeats of that id are
// retries, allowed) or a dead letter with a reason, with one job per file and one batch.completed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { withDeliverySummary } from '../../lambdas/adapters/dynamo/item-records';
import { JOB_DELIVERY_SK } from '../../lambdas/adapters/dynamo/keys';
import { FIXTURES, startHarness, type Harness } from './local-harness';
import { injectFault, intercept, recordCalls, type AwsCall, type FaultMode, type FaultSpec } from './aws-intercept';

export const HANDLERS = ['metahook-intake', 'metahook-extractor', 'metahook-callback'] as const;
export const MODES: readonly FaultMode[] = ['before', 'after', 'hang'];
const FILES = ['graphic.png', 'tone.wav', 'image.webp', 'tagged.mp3'] as const;

/** Each function's timeout in the fault stack (short, so a hung call ends a scenario in seconds). */
const TIMEOUTS_MS: Record<string, number> = { 'metahook-intake': 3000, 'metahook-extractor': 4000, 'metahook-callback': 3000 };

/** Compressed timings: short schedules, short function timeouts, queue timeouts of seconds. */
export function startFaultStack(): Promise<Harness> {
  return startHarness({
    env: {
      METAHOOK_RETRY_SCHEDULE: '1,1,2',
      METAHOOK_EXTRACTION_RETRY_SCHEDULE: '1,1',
      METAHOOK_CALLBACK_TIMEOUT_MS: '1500',
      // The intake lives 3 s here: its claims and outbox entries are stale after that plus slack.
      METAHOOK_STALE_CLAIM_SECONDS: '4',
      METAHOOK_SWEEP_MIN_AGE_SECONDS: '4',
      // Every 2 s: each run is two sweeps of 8 shard Queries each against the in-process emulator.
      METAHOOK_SWEEP_INTERVAL_SECONDS: '2',
      // The extractor lives 4 s here: its lease is as long, and a job past it (+ slack) has no live message.
      METAHOOK_EXTRACTION_LEASE_SECONDS: String(TIMEOUTS_MS['metahook-extractor']! / 1000),
      METAHOOK_SWEEP_LEASE_GRACE_SECONDS: '3',
    },
    timeouts: {
      intakeMs: TIMEOUTS_MS['metahook-intake']!,
      extractorMs: TIMEOUTS_MS['metahook-extractor']!,
      callbackMs: TIMEOUTS_MS['metahook-callback']!,
      queueVisibilitySeconds: 5,
      visibilityAfterTimeoutSeconds: 1,
    },
  });
}

export interface CallSite {
  readonly functionName: string;
  readonly service: string;
  readonly operation: string;
  /** Times one clean scenario makes this call. */
  readonly count: number;
}

export interface Scenario {
  readonly id: string;
  readonly fault?: Omit<FaultSpec, 'match'>;
  /** Narrows the faulted calls further (e.g. to the batch progress item's UpdateItem). */
  readonly calls?: (call: AwsCall) => boolean;
  /**
   * Every receive of the scenario's job messages reports the last receive count SQS allows
   * (maxReceiveCount): nothing that fails now gets another receive; what it leaves must still converge.
   */
  readonly lastReceive?: boolean;
}

/** The extractor's write of its batch's progress slots (the item `sk = PROGRESS`, `SET slots[...]`). */
export const batchProgressWrite = (call: AwsCall): boolean =>
  call.input?.Key?.sk === 'PROGRESS' && String(call.input?.UpdateExpression ?? '').startsWith('SET slots');

/** The extractor's SendMessageBatch of webhook messages: job events (`job`) or batch.completed (`batch`). */
export const webhookSend = (kind: 'job' | 'batch') => (call: AwsCall): boolean =>
  String(call.input?.QueueUrl ?? '').includes('deliveries') &&
  (call.input?.Entries ?? []).some((entry: { MessageBody?: string }) => String(entry.MessageBody ?? '').includes(`"kind":"${kind}"`));

/** Scenarios the call-site sweep does not produce: faults on the last receive SQS allows. */
export function lastReceiveScenarios(modes: readonly FaultMode[] = MODES): Scenario[] {
  const onLastReceive = (name: string, operation: string, calls: (call: AwsCall) => boolean, service = 'DynamoDB'): Scenario[] =>
    modes.map((mode) => ({
      id: `${scenarioId('metahook-extractor', service, name, 1, mode)} on the last receive`,
      fault: { functionName: 'metahook-extractor', service, operation, occurrence: 1, mode },
      calls,
      lastReceive: true,
    }));
  return [
    ...onLastReceive('UpdateItem(progress)', 'UpdateItem', batchProgressWrite),
    ...onLastReceive('SendMessageBatch(job webhooks)', 'SendMessageBatch', webhookSend('job'), 'SQS'),
    ...onLastReceive('SendMessageBatch(batch webhook)', 'SendMessageBatch', webhookSend('batch'), 'SQS'),
  ];
}

/**
 * Each of the extractor's calls answering only after the function's timeout, on the last receive
 * SQS allows: the handler gives the record up in time (handler_timeout) and its work carries on
 * when the call answers, after its invocation (FaultMode `stall`).
 */
export function lastReceiveStallScenarios(sites: readonly CallSite[]): Scenario[] {
  return sites
    .filter((site) => site.functionName === 'metahook-extractor')
    .map((site) => ({
      id: `${scenarioId(site.functionName, site.service, site.operation, 1, 'stall')} on the last receive`,
      fault: { functionName: site.functionName, service: site.service, operation: site.operation, occurrence: 1, mode: 'stall' as const, stallMs: TIMEOUTS_MS[site.functionName]! + 500 },
      lastReceive: true,
    }));
}

/**
 * Rewrites ApproximateReceiveCount on the jobs queue's receives of the tenant's messages, and does
 * what SQS does with a message received again after its last allowed receive: moves it to the
 * dead-letter queue by count, without a reason (the harness's real counts are lower, so without
 * this a record reported failed on its "last" receive would simply come back).
 */
function reportLastReceive(h: Harness, tenantId: string): () => void {
  const last = String(h.stack.settings.extraction.maxReceiveCount);
  const received = new Set<string>();
  return intercept(async (call, next) => {
    const result = await next();
    if (call.service !== 'SQS' || call.operation !== 'ReceiveMessage' || call.input.QueueUrl !== h.stack.queueUrls.jobs) return result;
    const messages = result?.output?.Messages ?? [];
    const kept = [];
    for (const message of messages) {
      if (!String(message.Body ?? '').includes(tenantId)) {
        kept.push(message);
        continue;
      }
      if (received.has(message.MessageId)) {
        await h.stack.sqs.send(new SendMessageCommand({ QueueUrl: h.stack.queueUrls.jobsDeadLetter, MessageBody: message.Body }));
        await h.stack.sqs.send(new DeleteMessageCommand({ QueueUrl: h.stack.queueUrls.jobs, ReceiptHandle: message.ReceiptHandle }));
        continue;
      }
      received.add(message.MessageId);
      message.Attributes = { ...message.Attributes, ApproximateReceiveCount: last };
      kept.push(message);
    }
    if (result?.output && kept.length !== messages.length) result.output.Messages = kept;
    return result;
  });
}

export interface ScenarioResult {
  readonly id: string;
  readonly passed: boolean;
  readonly accepted: boolean;
  readonly clientTries: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly stuck: number;
  readonly deadLettered: number;
  readonly faultFired: boolean;
  readonly notes: readonly string[];
  readonly ms: number;
}

const mentions = (tenantId: string) => (call: AwsCall) => JSON.stringify(call.input ?? {}).includes(tenantId);

/** Runs one clean scenario and returns every AWS call each handler made for it. */
export async function discoverCallSites(h: Harness): Promise<CallSite[]> {
  // Twice at most: the first request of a cold stack on a loaded machine can outlast the client's timeout.
  for (let run = 1; ; run++) {
    const tenant = await h.stack.createTenant(`discover-${Date.now()}`);
    const recording = recordCalls(mentions(tenant.tenant.tenant_id));
    const result = await runScenario(h, { id: 'clean' }, tenant);
    recording.stop();
    if (result.passed) return recording.distinct().filter((site) => (HANDLERS as readonly string[]).includes(site.functionName));
    if (run === 2) throw new Error(`the clean run did not pass: ${result.notes.join('; ')}`);
  }
}

/** Every call site x occurrence (up to `maxOccurrences`) x mode. */
export function scenariosFor(sites: readonly CallSite[], maxOccurrences = 2, modes: readonly FaultMode[] = MODES): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const site of sites) {
    for (let occurrence = 1; occurrence <= Math.min(site.count, maxOccurrences); occurrence++) {
      for (const mode of modes) {
        scenarios.push({
          id: scenarioId(site.functionName, site.service, site.operation, occurrence, mode),
          fault: { functionName: site.functionName, service: site.service, operation: site.operation, occurrence, mode },
        });
      }
    }
  }
  return scenarios;
}

export const scenarioId = (functionName: string, service: string, operation: string, occurrence: number, mode: FaultMode) =>
  `${functionName.replace('metahook-', '')} ${service}:${operation}#${occurrence} ${mode}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How long the client keeps retrying: longer than an intake's in-progress Idempotency-Key claim
 * (the deployed intake timeout + 1 s = 30 s, not compressed here), as a patient integrator would.
 */
const CLIENT_RETRY_BUDGET_MS = 40_000;

/** The client the issue describes: same body and key on every try; retries on 5xx, 409 and timeouts. */
async function submitLikeAWellBehavedClient(
  h: Harness,
  apiKey: string,
  body: string,
  idempotencyKey: string,
): Promise<{ accepted: boolean; tries: number; json: any; lastStatus: number | string }> {
  let lastStatus: number | string = 'none';
  const giveUpAt = Date.now() + CLIENT_RETRY_BUDGET_MS;
  let tries = 0;
  while (Date.now() < giveUpAt) {
    tries++;
    try {
      const response = await fetch(`${h.stack.endpoint}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'idempotency-key': idempotencyKey },
        body,
        signal: AbortSignal.timeout(5000),
      });
      lastStatus = response.status;
      const json = await response.json().catch(() => undefined);
      if (response.status === 202 || response.status === 200) return { accepted: true, tries, json, lastStatus };
      if (response.status < 500 && response.status !== 409 && response.status !== 429) return { accepted: false, tries, json, lastStatus };
    } catch (error) {
      lastStatus = error instanceof Error ? error.name : 'error';
    }
    await sleep(Math.min(400 * tries, 3000));
  }
  return { accepted: false, tries, json: undefined, lastStatus };
}

export interface DeadLetter {
  readonly body: any;
  readonly reason: string | undefined;
}

/** The tenant's messages in the jobs' and the deliveries' dead-letter queues, with their reason attribute. */
export function deadLetters(h: Harness, tenantId: string): DeadLetter[] {
  const letters: DeadLetter[] = [];
  for (const queue of [h.stack.names.queues.jobsDeadLetter, h.stack.names.queues.deliveriesDeadLetter]) {
    const inspected = h.stack.fauxqs.inspectQueue(queue);
    const messages = [
      ...(inspected?.messages.ready ?? []),
      ...(inspected?.messages.delayed ?? []),
      ...(inspected?.messages.inflight ?? []).map((entry) => entry.message),
    ];
    for (const message of messages) {
      let body: any;
      try {
        body = JSON.parse(message.body);
      } catch {
        body = message.body;
      }
      if (JSON.stringify(body).includes(tenantId)) letters.push({ body, reason: message.messageAttributes?.reason?.StringValue });
    }
  }
  return letters;
}

async function tenantJobs(h: Harness, tenantId: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, any> | undefined;
  do {
    const page = await h.stack.db.send(
      new ScanCommand({
        TableName: h.stack.names.table,
        // Each job with its delivery summary item (docs/data-model.md), shown as the API shows it.
        FilterExpression: 'begins_with(pk, :prefix) AND (sk = :job OR sk = :delivery)',
        ExpressionAttributeValues: { ':prefix': `TENANT#${tenantId}#JOB#`, ':job': 'JOB', ':delivery': JOB_DELIVERY_SK },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const deliveries = new Map(items.filter((item) => item.sk === JOB_DELIVERY_SK).map((item) => [item.pk, item]));
  return items.filter((item) => item.sk === 'JOB').map((item) => withDeliverySummary(item, deliveries.get(item.pk)) as Record<string, any>);
}

/** Runs one scenario to its end (or `deadlineMs`) and counts what was lost, duplicated or stuck. */
export async function runScenario(
  h: Harness,
  scenario: Scenario,
  tenant?: { tenant: { tenant_id: string }; apiKey: string },
  deadlineMs = 25_000,
): Promise<ScenarioResult> {
  const started = Date.now();
  const { tenant: t, apiKey } = tenant ?? (await h.stack.createTenant(`fault ${scenario.id}`.replace(/[^A-Za-z0-9 .,@()_-]/g, "_").slice(0, 100)));
  const tenantId = t.tenant_id;
  const files = await Promise.all(
    FILES.map(async (fixture, i) => {
      const key = `tenants/${tenantId}/faults/${i}-${fixture}`;
      await h.stack.s3.send(new PutObjectCommand({ Bucket: h.stack.names.mediaBucket, Key: key, Body: await readFile(join(FIXTURES, fixture)) }));
      return { url: `s3://${h.stack.names.mediaBucket}/${key}`, external_id: `f${i}` };
    }),
  );
  const path = `/faults/${tenantId}`;
  const body = JSON.stringify({ callback_url: `${h.receiver.url}${path}`, files });
  const match = (call: AwsCall) => mentions(tenantId)(call) && (scenario.calls?.(call) ?? true);
  const armed = scenario.fault
    ? injectFault({ ...scenario.fault, match, hangMs: (TIMEOUTS_MS[scenario.fault.functionName] ?? 3000) + 100 })
    : undefined;
  const stopReporting = scenario.lastReceive ? reportLastReceive(h, tenantId) : undefined;
  // A long poll already waiting when the rewrite was installed (the harness polls for 1 s) would hand over
  // the first messages unchanged.
  if (stopReporting) await sleep(1500);
  const notes: string[] = [];
  let submitted: Awaited<ReturnType<typeof submitLikeAWellBehavedClient>>;
  try {
    submitted = await submitLikeAWellBehavedClient(h, apiKey, body, `key-${tenantId}`);
  } catch (error) {
    armed?.disarm();
    stopReporting?.();
    throw error;
  }
  if (!submitted.accepted) notes.push(`client gave up after ${submitted.tries} tries (last: ${submitted.lastStatus})`);

  const events = () => h.receiver.received.filter((r) => r.path.startsWith(path));
  const settled = async () => {
    const all = events();
    const letters = deadLetters(h, tenantId);
    const jobs = await tenantJobs(h, tenantId);
    const perFile = files.map((file) => {
      const fileJobs = jobs.filter((job) => job.external_id === file.external_id);
      const terminal = new Set(
        all.filter((e) => e.payload?.type.startsWith('job.') && e.payload.data.external_id === file.external_id).map((e) => e.payload!.id),
      );
      const lettered = letters.some((l) => fileJobs.some((job) => JSON.stringify(l.body).includes(job.job_id)) && l.reason);
      return { fileJobs, terminal, lettered };
    });
    const batchIds = new Set(all.filter((e) => e.payload?.type === 'batch.completed').map((e) => e.payload!.id));
    const batchLettered = letters.some((l) => l.body?.kind === 'batch' && l.reason);
    const done = perFile.every((f) => f.terminal.size > 0 || f.lettered) && (batchIds.size > 0 || batchLettered);
    return { perFile, batchIds, batchLettered, letters, done };
  };

  const acceptedAt = Date.now();
  let state = await settled();
  while (submitted.accepted && !state.done && Date.now() - acceptedAt < deadlineMs) {
    await sleep(250);
    state = await settled();
  }
  if (submitted.accepted && state.done) {
    await sleep(1500); // late duplicates
    state = await settled();
  }
  armed?.disarm();
  stopReporting?.();

  let lost = 0;
  let duplicated = 0;
  let stuck = 0;
  let deadLettered = 0;
  state.perFile.forEach((f, i) => {
    const id = files[i]!.external_id;
    if (f.fileJobs.length > 1 || f.terminal.size > 1) {
      duplicated++;
      notes.push(`${id}: ${f.fileJobs.length} jobs, ${f.terminal.size} terminal webhook-ids`);
    } else if (f.terminal.size === 0 && f.lettered) {
      deadLettered++;
    } else if (f.terminal.size === 0 && f.fileJobs.length === 0) {
      if (submitted.accepted) {
        lost++;
        notes.push(`${id}: accepted, no job`);
      }
    } else if (f.terminal.size === 0) {
      stuck++;
      const job = f.fileJobs[0]!;
      notes.push(`${id}: job ${job.status}, delivery ${job.delivery?.status ?? '-'} after ${job.delivery?.attempts ?? 0} attempts, no event`);
    }
  });
  if (state.batchIds.size > 1) {
    duplicated++;
    notes.push(`${state.batchIds.size} batch.completed webhook-ids`);
  } else if (submitted.accepted && state.batchIds.size === 0 && !state.batchLettered) {
    stuck++;
    notes.push('no batch.completed');
  }
  const unexplained = state.letters.filter((l) => !l.reason);
  if (unexplained.length > 0) notes.push(`${unexplained.length} dead letter(s) without a reason`);
  const passed = submitted.accepted && lost + duplicated + stuck === 0 && unexplained.length === 0;
  return {
    id: scenario.id,
    passed,
    accepted: submitted.accepted,
    clientTries: submitted.tries,
    lost,
    duplicated,
    stuck,
    deadLettered,
    faultFired: armed ? armed.fired() : false,
    notes,
    ms: Date.now() - started,
  };
}

export function formatTable(results: readonly ScenarioResult[]): string {
  const header = ['scenario', 'outcome', 'lost', 'dup', 'stuck', 'dlq', 'tries', 'fired', 'ms', 'notes'];
  const rows = results.map((r) => [
    r.id,
    r.passed ? 'ok' : 'FAIL',
    String(r.lost),
    String(r.duplicated),
    String(r.stuck),
    String(r.deadLettered),
    String(r.clientTries),
    r.faultFired ? 'yes' : 'no',
    String(r.ms),
    r.notes.join('; ').slice(0, 160),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  const totals = results.reduce(
    (sum, r) => ({ lost: sum.lost + r.lost, dup: sum.dup + r.duplicated, stuck: sum.stuck + r.stuck, failed: sum.failed + Number(!r.passed) }),
    { lost: 0, dup: 0, stuck: 0, failed: 0 },
  );
  return [
    line(header),
    ...rows.map(line),
    '',
    `${results.length} scenarios, ${totals.failed} failed; lost ${totals.lost}, duplicated ${totals.dup}, stuck ${totals.stuck}`,
  ].join('\n');
}
