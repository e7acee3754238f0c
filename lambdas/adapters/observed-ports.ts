// Adapter: wraps the two ports an operator watches most, the model and the webhook POST, with a
// trace subsegment and their metrics (names in core/metric-names.ts), so the use cases carry no
// observability code. Each data point is its own EMF record (Powertools singleMetric): records of
// one batch run concurrently with different models and media types.
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { PermanentJobError } from '../core/errors';
import { METRIC } from '../core/metric-names';
import { costUsd, type PriceTable } from '../core/model-prices';
import type { MediaKind } from '../core/api-schemas';
import type { MetadataProvider, WebhookSender } from '../core/ports';
import { inSubsegment } from './tracing';

type Point = readonly [name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number];

/** Publishes the points with `dimensions` (and, by Powertools' default set, with `service` alone). */
export function emitPoints(metrics: Metrics, dimensions: Record<string, string>, points: readonly Point[]): void {
  for (const [name, unit, value] of points) {
    const single = metrics.singleMetric();
    single.addDimensions({}); // the `service`-only set, which the alarms read
    single.addDimensions(dimensions);
    single.addMetric(name, unit, value);
  }
}

export function observedProvider(
  provider: MetadataProvider,
  metrics: Metrics,
  options: { readonly prices: PriceTable; readonly modelIdFor: (kind: MediaKind) => string },
): MetadataProvider {
  return {
    name: provider.name,
    async extract(input) {
      const started = Date.now();
      try {
        const output = await inSubsegment(`model ${provider.name}`, () => provider.extract(input));
        const usage = output.usage;
        const cost = usage ? costUsd(options.prices, output.model.id, usage) : undefined;
        emitPoints(metrics, { model: output.model.id, media_type: input.kind }, [
          [METRIC.extractionLatency, MetricUnit.Milliseconds, usage?.latency_ms ?? Date.now() - started],
          ...(usage
            ? ([
              [METRIC.extractionInputTokens, MetricUnit.Count, usage.input_tokens],
              [METRIC.extractionOutputTokens, MetricUnit.Count, usage.output_tokens],
            ] as const)
            : []),
          ...(cost !== undefined ? ([[METRIC.extractionCostUsd, MetricUnit.NoUnit, cost]] as const) : []),
        ]);
        emitPoints(metrics, { model: output.model.id, media_type: input.kind, outcome: 'ok' }, [[METRIC.modelCalls, MetricUnit.Count, 1]]);
        return output;
      } catch (error) {
        const outcome = error instanceof PermanentJobError ? 'permanent_error' : 'transient_error';
        emitPoints(metrics, { model: options.modelIdFor(input.kind), media_type: input.kind, outcome }, [
          [METRIC.modelCalls, MetricUnit.Count, 1],
        ]);
        throw error;
      }
    },
  };
}

export function observedSender(sender: WebhookSender, metrics: Metrics): WebhookSender {
  return {
    async post(request) {
      const response = await inSubsegment('webhook', () => sender.post(request));
      const outcome = response.kind === 'error' ? 'network_error' : `${Math.floor(response.status / 100)}xx`;
      emitPoints(metrics, { status: outcome }, [[METRIC.deliveryLatency, MetricUnit.Milliseconds, response.durationMs]]);
      return response;
    },
  };
}
