// Every stage publishes its metrics as EMF (Powertools Metrics) on the embedded local stack:
// intake (files accepted and refused by code), extractor (latency and outcome by model and media
// type, backlog age), callback (attempts, latency, outcome, backlog age), sweeper (requeued).
// Names come from lambdas/core/metric-names.ts, the module the dashboard and alarms read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../lambdas/core/metric-names';
import { captureEmf, type EmfCapture } from '../support/emf-capture';
import { startHarness, type Harness } from '../support/local-harness';

let h: Harness;
let emf: EmfCapture;

beforeAll(async () => {
  emf = captureEmf();
  h = await startHarness({ env: { POWERTOOLS_METRICS_DISABLED: 'false' } });
});

afterAll(async () => {
  await h?.stop();
  emf?.stop();
});

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('stage metrics', () => {
  it('each stage publishes its EMF metrics under the names of metric-names.ts', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'metrics/photo.jpg');
    const song = await h.upload('tagged.mp3', 'metrics/song.mp3');
    const accepted = await h.submit({ callback_url: `${h.receiver.url}/m`, files: [{ url: photo }, { url: song, media_type: 'audio' }] });
    expect(accepted.status).toBe(202);
    const refused = await h.submit({
      callback_url: `${h.receiver.url}/m`,
      files: [{ url: 'http://10.1.2.3/a.jpg' }, { url: 'http://10.1.2.4/b.jpg' }, { url: 'http://10.1.2.5/c.jpg' }],
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const code: string = refused.json.error.code;
    const jobIds: string[] = accepted.json.jobs.map((j: { job_id: string }) => j.job_id);
    await h.receiver.waitFor((all) =>
      jobIds.every((id) => all.some((r) => r.payload?.data?.job_id === id)) && all.some((r) => r.payload?.type === 'batch.completed'));
    await h.stack.sweep();
    // The callback flushes its metrics when its invocation returns, just after the receiver answered.
    for (const until = Date.now() + 5_000; sum(emf.values(METRIC.deliveryAttempt, { service: 'callback' })) < 3 && Date.now() < until;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // intake
    expect(emf.values(METRIC.filesAccepted, { service: 'intake' })).toEqual([2]);
    expect(emf.values(METRIC.filesRefused, { service: 'intake', code })).toEqual([3]);
    expect(emf.values(METRIC.requestsRefused, { service: 'intake', code })).toEqual([1]);

    // extractor: one model call per file, split by media type (the local analyzer reports no tokens)
    const latencyRecords = emf.records().filter((r) => r[METRIC.extractionLatency] !== undefined);
    expect(latencyRecords.map((r) => String(r.media_type)).sort()).toEqual(['audio', 'image']);
    for (const record of latencyRecords) {
      expect(record.service).toBe('extractor');
      expect(typeof record.model).toBe('string');
      expect(record[METRIC.extractionLatency]).toBeGreaterThanOrEqual(0);
    }
    expect(sum(emf.values(METRIC.modelCalls, { service: 'extractor', outcome: 'ok' }))).toBe(2);
    expect(sum(emf.values(METRIC.jobsProcessed, { service: 'extractor', outcome: 'completed' }))).toBe(2);
    const jobBacklog = emf.values(METRIC.backlogAge, { service: 'extractor' });
    expect(jobBacklog.length).toBeGreaterThanOrEqual(2);
    expect(jobBacklog.every((age) => age >= 0 && age < 60)).toBe(true);

    // callback: two job events and one batch event, each delivered at the first attempt
    expect(sum(emf.values(METRIC.deliveryAttempt, { service: 'callback' }))).toBe(3);
    expect(sum(emf.values(METRIC.deliveryOutcome, { service: 'callback', outcome: 'delivered' }))).toBe(3);
    expect(emf.values(METRIC.deliveryLatency, { service: 'callback', status: '2xx' })).toHaveLength(3);
    expect(emf.values(METRIC.backlogAge, { service: 'callback' }).length).toBeGreaterThanOrEqual(3);
    expect(emf.values(METRIC.deliveryFailed, { service: 'callback' })).toEqual([]);

    // sweeper: nothing was left behind
    expect(emf.values(METRIC.sweeperJobsRequeued, { service: 'sweeper' })).toContain(0);

    // Every record is in the one namespace the dashboard and alarms read.
    expect(new Set(emf.records().flatMap((r) => r._aws.CloudWatchMetrics.map((m) => m.Namespace)))).toEqual(new Set(['Metahook']));
  });
});
