// The model and webhook wrappers publish their metrics as EMF, one record per data point, with
// the model and media type as dimensions next to the service-only set the alarms read.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PermanentJobError, TransientJobError } from '../../lambdas/core/errors';
import { METRIC } from '../../lambdas/core/metric-names';
import { DEFAULT_PRICE_TABLE } from '../../lambdas/core/model-prices';
import type { ExtractionInput, MetadataProvider } from '../../lambdas/core/ports';
import { observedProvider, observedSender } from '../../lambdas/adapters/observed-ports';
import { captureEmf, type EmfCapture } from '../support/emf-capture';

let emf: EmfCapture;
let metrics: Metrics;
beforeEach(() => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  emf = captureEmf();
  metrics = new Metrics({ namespace: 'Metahook', serviceName: 'extractor' });
});
afterEach(() => emf.stop());

const image: ExtractionInput = { kind: 'image', format: 'jpeg', mime: 'image/jpeg', bytes: new Uint8Array([1]) };
const answering = (result: Awaited<ReturnType<MetadataProvider['extract']>> | Error): MetadataProvider => ({
  name: 'bedrock',
  extract: async () => {
    if (result instanceof Error) throw result;
    return result;
  },
});
const options = { prices: DEFAULT_PRICE_TABLE, modelIdFor: () => 'us.amazon.nova-lite-v1:0' };

describe('observedProvider', () => {
  it('publishes latency, tokens, cost (from the price table) and an ok call by model and media type', async () => {
    const provider = observedProvider(answering({
      result: { description: 'd', keywords: ['k'], caption: 'c' } as never,
      model: { provider: 'bedrock', id: 'us.amazon.nova-lite-v1:0' },
      usage: { input_tokens: 1000, output_tokens: 500, latency_ms: 321 },
    }), metrics, options);
    await provider.extract(image);
    const split = { service: 'extractor', model: 'us.amazon.nova-lite-v1:0', media_type: 'image' };
    expect(emf.values(METRIC.extractionLatency, split)).toEqual([321]);
    expect(emf.values(METRIC.extractionInputTokens, split)).toEqual([1000]);
    expect(emf.values(METRIC.extractionOutputTokens, split)).toEqual([500]);
    // nova lite: 1000 x 0.06 + 500 x 0.24 per million tokens
    expect(emf.values(METRIC.extractionCostUsd, split)).toEqual([0.00018]);
    expect(emf.values(METRIC.modelCalls, { ...split, outcome: 'ok' })).toEqual([1]);
    const latency = emf.records().find((r) => r[METRIC.extractionLatency] !== undefined)!;
    expect(latency._aws.CloudWatchMetrics[0]!.Namespace).toBe('Metahook');
    // The service-only set (what the alarms read) and the split by model and media type.
    expect(latency._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service'], ['service', 'model', 'media_type']]);
    expect(latency._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: METRIC.extractionLatency, Unit: 'Milliseconds' }]);
  });

  it('counts a failed call by kind of failure under the configured model, and rethrows', async () => {
    const permanent = observedProvider(answering(new PermanentJobError('unsupported_media_type', 'no')), metrics, options);
    await expect(permanent.extract(image)).rejects.toThrow(PermanentJobError);
    const transient = observedProvider(answering(new TransientJobError('model_unavailable' as never, 'later')), metrics, options);
    await expect(transient.extract(image)).rejects.toThrow(TransientJobError);
    const base = { model: 'us.amazon.nova-lite-v1:0', media_type: 'image' };
    expect(emf.values(METRIC.modelCalls, { ...base, outcome: 'permanent_error' })).toEqual([1]);
    expect(emf.values(METRIC.modelCalls, { ...base, outcome: 'transient_error' })).toEqual([1]);
    expect(emf.values(METRIC.extractionLatency)).toEqual([]);
  });
});

describe('observedSender', () => {
  it('publishes each webhook POST latency by status class', async () => {
    const sender = observedSender({
      post: async (request) => (request.url.endsWith('/down')
        ? { kind: 'error', errorClass: 'ECONNREFUSED', message: 'refused', durationMs: 3 }
        : { kind: 'response', status: 503, headers: {}, body: '', durationMs: 42 }),
    }, metrics);
    await sender.post({ url: 'https://receiver.example/hook', headers: {}, body: '{}' } as never);
    await sender.post({ url: 'https://receiver.example/down', headers: {}, body: '{}' } as never);
    expect(emf.values(METRIC.deliveryLatency, { status: '5xx' })).toEqual([42]);
    expect(emf.values(METRIC.deliveryLatency, { status: 'network_error' })).toEqual([3]);
  });
});
