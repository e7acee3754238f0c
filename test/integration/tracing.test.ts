// Tracing on the embedded local stack: the handlers' X-Ray SDK sends segments to the daemon
// stand-in over UDP (as on Lambda), and one job's path (intake -> extractor -> callback) is one
// trace, with the AWS SDK calls of each stage as subsegments inside it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/run';
import { startHarness, type Harness } from '../support/local-harness';
import { flatten, renderTrace, traceIdsOfJob, traceTree, type TraceDocument } from '../../local/trace-view';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

const named = (documents: TraceDocument[], name: string) => documents.filter((d) => d.name === name);
const awsCalls = (document: TraceDocument) =>
  flatten([document]).filter((d) => d.namespace === 'aws').map((d) => `${d.name}.${d.aws?.operation}`);

describe('one trace per job', () => {
  it('follows each job through intake, extractor and callback in one trace, with the SDK calls inside', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'trace/photo.jpg');
    const song = await h.upload('tagged.mp3', 'trace/song.mp3');
    const { status, json } = await h.submit({
      callback_url: `${h.receiver.url}/trace`,
      files: [{ url: photo }, { url: song, media_type: 'audio' }],
    });
    expect(status).toBe(202);
    const jobIds: string[] = json.jobs.map((j: { job_id: string }) => j.job_id);
    await h.receiver.waitFor((all) => jobIds.every((id) => all.some((r) => r.payload?.data?.job_id === id)));

    // Segments are sent when their work ends: wait until both callback segments are in.
    const documents = await h.stack.traces.waitFor((docs) =>
      jobIds.every((id) => flatten(docs).some((d) => d.name === 'metahook-callback' && d.annotations?.job_id === id)));

    for (const jobId of jobIds) {
      const traceIds = traceIdsOfJob(documents, jobId);
      expect(traceIds, `job ${jobId} is in exactly one trace`).toHaveLength(1);
      const inTrace = flatten(documents.filter((d) => d.trace_id === traceIds[0]));

      // intake: the (local) Lambda segment of the request, its handler subsegment with the batch annotated
      const intake = named(inTrace, 'metahook-intake');
      expect(intake).toHaveLength(1);
      expect(inTrace.some((d) => d.name === '## index.handler' && d.annotations?.batch_id === json.batch_id)).toBe(true);
      expect(awsCalls(intake[0]!)).toEqual(expect.arrayContaining(['DynamoDB.PutItem', 'SQS.SendMessageBatch']));

      const extractor = named(inTrace, 'metahook-extractor').filter((d) => d.annotations?.job_id === jobId);
      expect(extractor).toHaveLength(1);
      expect(extractor[0]!.annotations).toMatchObject({ tenant_id: h.stack.tenantId, job_id: jobId });
      expect(awsCalls(extractor[0]!)).toEqual(expect.arrayContaining(['S3.GetObject', 'DynamoDB.UpdateItem']));
      expect(flatten([extractor[0]!]).some((d) => d.name === 'model local')).toBe(true);

      const callback = named(inTrace, 'metahook-callback').filter((d) => d.annotations?.job_id === jobId);
      expect(callback).toHaveLength(1);
      expect(callback[0]!.parent_id, 'the callback continues the extractor segment').toBeDefined();
      expect(awsCalls(callback[0]!).some((call) => call.startsWith('DynamoDB.'))).toBe(true);
      expect(flatten([callback[0]!]).some((d) => d.name === 'webhook')).toBe(true);

      // The tree links them: the extractor hangs under intake's subsegments, the callback under the extractor's.
      const text = renderTrace(traceTree(documents, traceIds[0]!));
      expect(text.indexOf('metahook-intake')).toBeLessThan(text.indexOf('metahook-extractor'));
      expect(text.indexOf('metahook-extractor')).toBeLessThan(text.indexOf('metahook-callback'));
    }
    // The two jobs of one batch share the intake request's trace.
    expect(traceIdsOfJob(documents, jobIds[0]!)).toEqual(traceIdsOfJob(documents, jobIds[1]!));

    // `npm run metahook -- trace JOB_ID` reads the same segments from the state directory's traces.jsonl.
    const dir = await mkdtemp(join(tmpdir(), 'metahook-trace-'));
    try {
      await writeFile(join(dir, 'traces.jsonl'), documents.map((d) => JSON.stringify(d)).join('\n') + '\n');
      const out: string[] = [];
      const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t), env: { METAHOOK_DATA_DIR: dir }, cwd: dir };
      expect(await runCli(['trace', jobIds[0]!], io)).toBe(0);
      expect(out.join('')).toMatch(/metahook-intake[\s\S]*SQS SendMessageBatch[\s\S]*metahook-extractor[\s\S]*metahook-callback/);
      expect(await runCli(['trace', 'job_unknown'], io)).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
