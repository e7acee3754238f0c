// Property-based fuzzing of POST /v1/jobs on the embedded local stack (gateway stand-in ->
// intake handler -> DynamoDB/SQS emulators): arbitrary JSON, near-valid bodies and hostile
// header values never produce a 5xx, every refusal is the error envelope with a known code, and
// no refused request creates a job (counted on the tenant's jobs index before and after).
// A failure prints fast-check's seed and path; replay with FAST_CHECK_SEED=<seed>.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { API_ERROR_STATUS } from '../../lambdas/core/errors';
import { parseSubmission } from '../../lambdas/core/submit-jobs';
import { keys, listingShards } from '../../lambdas/adapters/dynamo/keys';
import { SECURITY_HEADERS } from '../../lambdas/adapters/api-gateway';
import { INDEXES } from '../../lib/table-design';
import { connect } from 'node:net';
import { startHarness, type Harness } from '../support/local-harness';
import { contentTypeHeader, idempotencyKeyHeader, nearValidBody, type BodyContext } from '../support/intake-bodies';

let h: Harness;
let ctx: BodyContext;

const seed = process.env.FAST_CHECK_SEED ? Number(process.env.FAST_CHECK_SEED) : undefined;
// Bounded so the file stays well under 30 s on 2 cores; a failure's shrinking gets its own budget.
const runs = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  ...(seed !== undefined ? { seed } : {}),
  interruptAfterTimeLimit: 40_000,
  markInterruptAsFailure: false,
});

beforeAll(async () => {
  h = await startHarness();
  const bucket = h.stack.names.mediaBucket;
  const own = `tenants/${h.stack.tenantId}/`;
  ctx = {
    callbackUrl: `${h.receiver.url}/fuzz`,
    // Absent objects: the few jobs created fail fast in the extractor instead of doing work.
    fileUrls: [`s3://${bucket}/${own}fuzz/a.png`, `s3://${bucket}/${own}fuzz/b.mp3`, `s3://${bucket}/${own}fuzz/c.jpg`],
    limits: h.stack.settings.api,
  };
});

afterAll(async () => {
  await h?.stop();
});

/** Jobs of the tenant, counted on every gsi2 shard (TENANT#<id>#JOBS#<n>), as the jobs list route reads them. */
async function countJobs(): Promise<number> {
  let count = 0;
  for (const shard of listingShards()) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await h.stack.db.send(
        new QueryCommand({
          TableName: h.stack.names.table,
          IndexName: INDEXES.byTenantTime.indexName,
          KeyConditionExpression: `${INDEXES.byTenantTime.partitionKey} = :pk`,
          ExpressionAttributeValues: { ':pk': keys.tenantJobsIndex(h.stack.tenantId, shard) },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return count;
}

/** True when the handler's own validation accepts this body (the oracle for a 202). */
function handlerAccepts(raw: string): boolean {
  try {
    parseSubmission(JSON.parse(raw), h.stack.settings);
    return true;
  } catch {
    return false;
  }
}

type Reply = Awaited<ReturnType<Harness['submitRaw']>>;

/** The invariants every answer satisfies; returns how many new jobs the answer claims. */
function checkReply(reply: Reply, raw: string): number {
  expect(reply.status, 'never a 5xx').toBeLessThan(500);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(reply.headers.get(name)).toBe(value);
  if (reply.status >= 400) {
    const error = reply.json?.error;
    expect(error, 'error envelope').toBeTypeOf('object');
    expect(Object.keys(error).every((key) => ['code', 'message', 'details', 'request_id'].includes(key))).toBe(true);
    expect(Object.keys(API_ERROR_STATUS)).toContain(error.code);
    expect(API_ERROR_STATUS[error.code as keyof typeof API_ERROR_STATUS]).toBe(reply.status);
    expect(error.message).toBeTypeOf('string');
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.request_id).toBeTypeOf('string');
    expect(error.request_id).toBe(reply.headers.get('x-request-id'));
    // No internals: stack frames or source paths never reach the caller.
    const text = `${error.message}\n${JSON.stringify(error.details ?? [])}`;
    expect(text).not.toMatch(/\n\s+at\s|node_modules|\.[jt]s:\d+:\d+/);
    expect(text).not.toContain(process.cwd());
    return 0;
  }
  expect(reply.status).toBe(202);
  expect(handlerAccepts(raw), 'a 202 only for a body the schema accepts').toBe(true);
  return reply.json.jobs.filter((job: { duplicate: boolean }) => !job.duplicate).length;
}

async function submitAndCheck(raw: string, headers: Record<string, string> = {}): Promise<void> {
  const before = await countJobs();
  const reply = await h.submitRaw(raw, headers);
  const claimed = checkReply(reply, raw);
  expect(await countJobs(), `jobs created by a ${reply.status}`).toBe(before + claimed);
}

describe('the job counter the properties rely on', () => {
  it('sees the jobs a valid request creates (so "unchanged" means something)', async () => {
    const before = await countJobs();
    // Also primes de-duplication: later valid bodies reuse these URLs and create no new work.
    const { status, json } = await h.submit({ callback_url: ctx.callbackUrl, files: ctx.fileUrls.map((url) => ({ url })) });
    expect(status).toBe(202);
    expect(json.jobs.filter((job: { duplicate: boolean }) => !job.duplicate)).toHaveLength(ctx.fileUrls.length);
    expect(await countJobs()).toBe(before + ctx.fileUrls.length);
  });
});

describe('POST /v1/jobs under hostile input', () => {
  it('near-valid bodies with arbitrary Idempotency-Key and content-type headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        nearValidBody(ctx),
        fc.option(idempotencyKeyHeader, { nil: undefined }),
        fc.option(contentTypeHeader, { nil: undefined }),
        async (body, idempotencyKey, contentType) => {
          const headers: Record<string, string> = {};
          if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
          if (contentType !== undefined) headers['content-type'] = contentType;
          await submitAndCheck(body.raw, headers);
        },
      ),
      runs(300),
    );
  }, 60_000);

  it('arbitrary JSON values as the body, and as the metadata of a valid body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), async (value, asMetadata) => {
        const body = asMetadata ? { callback_url: ctx.callbackUrl, files: [{ url: ctx.fileUrls[1]! }], metadata: { value } } : value;
        await submitAndCheck(JSON.stringify(body));
      }),
      runs(150),
    );
  }, 60_000);

  it('arbitrary text as the body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 60 })), async (text) => {
        await submitAndCheck(text);
      }),
      runs(60),
    );
  }, 60_000);

  it('refuses each near-valid mutation class with the expected family of codes', async () => {
    // Spot checks that the generators hit the limits they claim to (not only 202s and 400s).
    const valid = { callback_url: ctx.callbackUrl, files: [{ url: ctx.fileUrls[0]! }] };
    const cases: [unknown, number, string][] = [
      [{ ...valid, files: [] }, 400, 'invalid_request'],
      [{ ...valid, files: Array.from({ length: ctx.limits.maxFilesPerRequest + 1 }, () => ({ url: ctx.fileUrls[0]! })) }, 400, 'invalid_request'],
      [{ ...valid, metadata: { blob: 'x'.repeat(ctx.limits.maxBodyBytes) } }, 413, 'payload_too_large'],
      [{ ...valid, callback_url: 'https://169.254.169.254/latest' }, 422, 'callback_url_forbidden'],
      [{ ...valid, files: [{ url: 'file:///etc/passwd' }] }, 422, 'file_url_forbidden'],
      [{ ...valid, metadata: { n: 1e308 } }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const before = await countJobs();
      const reply = await h.submit(body);
      expect([reply.status, reply.json?.error?.code]).toEqual([status, code]);
      expect(await countJobs()).toBe(before);
    }
    const deep = `{"callback_url":${JSON.stringify(ctx.callbackUrl)},"files":[{"url":${JSON.stringify(ctx.fileUrls[0])}}],"metadata":{"d":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    const reply = await h.submitRaw(deep);
    expect([reply.status, reply.json?.error?.code]).toEqual([400, 'invalid_request']);
  });
});

// ---------- issue 16: prototype keys, forged cursors, raw gateway errors ----------

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'] as const;
/** Keys the store cannot round-trip: refused with a 400 naming the key; the rest are stored as sent. */
const REFUSED_KEYS = new Set(['__proto__', 'constructor']);

describe('metadata with Object.prototype key names', () => {
  const shapes = (key: string): [string, string][] => [
    ['number', `{"${key}":1}`],
    ['string', `{"${key}":"x"}`],
    ['nested object', `{"outer":{"${key}":1}}`],
    ['nested in an array', `{"outer":[{"${key}":"x"}]}`],
    ['as the object value', `{"${key}":{"${key}":2}}`],
  ];

  for (const key of PROTOTYPE_KEYS) {
    it(`"${key}" never gives a 5xx and is either refused clearly or stored as sent`, async () => {
      for (const [, metadata] of shapes(key)) {
        // A fresh URL each time: a duplicate would report the earlier job (and its metadata).
        const url = `s3://${h.stack.names.mediaBucket}/tenants/${h.stack.tenantId}/fuzz/proto-${Math.random().toString(36).slice(2)}.jpg`;
        const raw = `{"callback_url":${JSON.stringify(ctx.callbackUrl)},"files":[{"url":${JSON.stringify(url)}}],"metadata":${metadata}}`;
        const reply = await h.submitRaw(raw, { 'idempotency-key': `proto-${Math.random()}` });
        checkReply(reply, raw);
        if (REFUSED_KEYS.has(key)) {
          expect([reply.status, reply.json.error.code]).toEqual([400, 'invalid_request']);
          expect(JSON.stringify(reply.json.error)).toContain(key);
        } else {
          expect(reply.status, metadata).toBe(202);
          const stored = await h.job(reply.json.jobs[0].job_id);
          expect(JSON.stringify(stored?.metadata)).toBe(JSON.stringify(JSON.parse(metadata)));
        }
      }
    });
  }
});

describe('GET /v1/jobs with forged cursors', () => {
  const list = async (query: string) => {
    const response = await fetch(`${h.stack.endpoint}/v1/jobs?${query}`, { headers: { 'x-api-key': h.stack.apiKey } });
    return { status: response.status, json: (await response.json()) as any, headers: response.headers };
  };
  const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

  it('accepts its own cursor and refuses every forgery with invalid_request, never a 5xx', async () => {
    const first = await list('limit=1');
    expect(first.status).toBe(200);
    expect(first.json.next_cursor).toBeTypeOf('string');
    expect((await list(`limit=1&cursor=${first.json.next_cursor}`)).status).toBe(200);

    const real = JSON.parse(Buffer.from(first.json.next_cursor, 'base64url').toString('utf8')) as Record<string, string>;
    const without = (name: string) => Object.fromEntries(Object.entries(real).filter(([key]) => key !== name));
    const other = `TENANT#someone-else`;
    const forged: unknown[] = [
      ...Object.keys(real).map(without), // each key attribute missing
      { ...real, extra: 'x' }, // an attribute the index key does not have
      { ...real, gsi1pk: real.gsi2pk, gsi1sk: 'x' },
      { ...real, sk: 1 },
      { ...real, sk: { S: 'JOB' } },
      { ...real, sk: '' },
      { ...real, pk: `${other}#JOB#01ABC` },
      { ...real, gsi2pk: `${other}#JOBS` },
      `${JSON.stringify(real).slice(0, -1)},"__proto__":{"pk":"x"}}`, // an own __proto__ attribute
      { ...real, constructor: 'x' },
      {},
      [],
      null,
      'not json',
      42,
      { ...real, gsi2sk: 'x'.repeat(5_000) },
    ];
    for (const key of forged) {
      const reply = await list(`limit=1&cursor=${b64(key)}`);
      expect([reply.status, reply.json.error?.code], JSON.stringify(key)).toEqual([400, 'invalid_request']);
    }
    for (const raw of ['%00', '!!!', 'a'.repeat(10_000), '____']) {
      const reply = await list(`cursor=${raw}`);
      expect([reply.status, reply.json.error?.code], raw.slice(0, 20)).toEqual([400, 'invalid_request']);
    }
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...Object.keys(real), 'x', 'gsi1pk', 'gsi1sk'), fc.jsonValue({ maxDepth: 1 })), async (key) => {
        const reply = await list(`cursor=${b64(key)}`);
        expect(reply.status).toBeLessThan(500);
      }),
      runs(60),
    );
  });
});

describe('the local gateway answers malformed HTTP with the envelope', () => {
  /** One raw exchange over TCP: what Node's parser answers when it cannot build a request. */
  const rawExchange = (payload: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(h.stack.endpoint).port), '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer')));
      socket.write(payload);
    });

  it.each([
    ['oversized headers', `GET /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431, 'request_headers_too_large'],
    ['a garbage request line', 'HELLO THERE\r\n\r\n', 400, 'invalid_request'],
    ['binary noise', '\u0000\u0001\u0002\r\n\r\n', 400, 'invalid_request'],
    ['a bad header line', 'GET /v1/jobs HTTP/1.1\r\nno colon here\r\n\r\n', 400, 'invalid_request'],
    ['a bad content-length', 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'invalid_request'],
  ])('%s', async (_label, payload, status, code) => {
    const answer = await rawExchange(payload);
    const [head, body] = answer.split('\r\n\r\n');
    expect(head!.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}`);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(head!.toLowerCase()).toContain(`${name.toLowerCase()}: ${value.toLowerCase()}`);
    const envelope = JSON.parse(body!) as { error: { code: string; message: string; request_id: string } };
    expect(envelope.error.code).toBe(code);
    expect(API_ERROR_STATUS[code as keyof typeof API_ERROR_STATUS]).toBe(status);
    expect(envelope.error.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
