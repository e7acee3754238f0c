// Delivery: the callback Lambda fed by the deliveries queue. It signs and POSTs each webhook
// event, records the attempt, delays retries by changing the record's visibility, and
// dead-letters an event explicitly once the retry schedule (lib/settings.ts) runs out.
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Settings } from '../settings';
import { addQueueEventSource, grantChangeVisibility, grantSend, grantTable } from './grants';
import { PipelineFunction } from './pipeline-function';
import type { PipelineQueue } from './pipeline-queue';

export interface DeliveryProps {
  readonly settings: Settings;
  readonly deliveries: PipelineQueue;
  readonly table: ITable;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
}

export class Delivery extends Construct {
  public readonly callback: PipelineFunction;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    const { settings } = props;
    const visibility = props.deliveries.design.visibilityTimeoutSeconds;
    if (visibility < 6 * settings.delivery.functionTimeoutSeconds) {
      throw new Error(`Deliveries queue visibility (${visibility}s) must be at least 6x the callback timeout`);
    }

    this.callback = new PipelineFunction(this, 'Callback', {
      handlerName: 'callback',
      description: 'Metahook callback: signs and delivers webhook events with retries',
      timeoutSeconds: settings.delivery.functionTimeoutSeconds,
      memoryMb: settings.delivery.memoryMb,
      environment: {
        ...props.environment,
        // The outbound timeout the runtime settings resolve to, pinned to the synthesized value.
        METAHOOK_CALLBACK_TIMEOUT_MS: String(settings.delivery.httpTimeoutMs),
      },
      logRetention: props.logRetention,
    });
    const fn = this.callback.function;

    addQueueEventSource(fn, props.deliveries.queue, {
      batchSize: settings.delivery.batchSize,
      maxConcurrency: settings.delivery.maxConcurrency,
    });

    // Reads job (BatchGetItem: one SQS batch's jobs at once), batch (Query: batch + progress) and
    // tenant; records each attempt (PutItem) and the delivery state.
    grantTable(props.table, fn, { actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'] });
    grantChangeVisibility(props.deliveries.queue, fn);
    // Retries change the record's visibility; only exhausted or gone deliveries are sent, to the DLQ.
    grantSend(props.deliveries.deadLetterQueue, fn);
  }
}
