// Domain: the name of every metric the pipeline emits (EMF through Powertools Metrics) and that
// the dashboard and alarms read (lib/constructs/stage-alarms.ts, stage-dashboard.ts), in one
// place so an emitter and its alarm cannot drift apart. No AWS imports here.

export const METRICS_NAMESPACE = 'Metahook';

/** Each stage's `service` dimension: Powertools adds it to every metric as the default dimension. */
export const METRIC_SERVICE = {
  intake: 'intake',
  extractor: 'extractor',
  callback: 'callback',
  sweeper: 'sweeper',
} as const;

/**
 * Metric names. Where a metric has extra dimensions it is ALSO published with `service` alone
 * (Powertools writes both dimension sets), so alarms read the total and the dashboard the split.
 */
export const METRIC = {
  // intake (per request)
  /** Files of an accepted request (Count). */
  filesAccepted: 'FilesAccepted',
  /** Files of a refused request (Count), dimension `code`: the API error code. */
  filesRefused: 'FilesRefused',
  /** Refused requests (Count), dimension `code`; a refused request may name no file (a bad key). */
  requestsRefused: 'RequestsRefused',

  // extractor (per model call, dimensions `model` and `media_type`)
  /** Time the model took for one file, repairs and normalising included (Milliseconds). */
  extractionLatency: 'ExtractionLatency',
  extractionInputTokens: 'ExtractionInputTokens',
  extractionOutputTokens: 'ExtractionOutputTokens',
  /** USD of one file's tokens from the deployed price table (lambdas/core/model-prices.ts; unit None). */
  extractionCostUsd: 'ExtractionCostUsd',
  /** Model calls (Count), dimension `outcome`: ok | transient_error | permanent_error. */
  modelCalls: 'ModelCalls',
  // extractor (per job message)
  /** Job messages handled (Count), dimension `outcome`: completed | failed | dead_lettered | held | released | skipped | redelivered | retried. */
  jobsProcessed: 'JobsProcessed',

  // callback (per delivery message)
  deliveryAttempt: 'DeliveryAttempt',
  deliveryFailed: 'DeliveryFailed',
  deliveryDeadLettered: 'DeliveryDeadLettered',
  /** Our own failure before or around an attempt (a DynamoDB read), retried like a failed attempt. */
  deliveryErrored: 'DeliveryErrored',
  /** Time of one webhook POST, answer or failure (Milliseconds). */
  deliveryLatency: 'DeliveryLatency',
  /** Delivery messages handled (Count), dimension `outcome`: delivered | retry | dead_letter | wait | skipped | errored. */
  deliveryOutcome: 'DeliveryOutcome',

  // extractor and callback: how long a record waited in its queue before this receive (Seconds)
  backlogAge: 'BacklogAge',

  // sweeper (per run)
  /** Jobs re-enqueued from the enqueue outbox (their SQS send never confirmed). */
  sweeperJobsRequeued: 'SweeperJobsRequeued',
  /** Jobs re-enqueued because they sat past their lease or retry deadline with no live message. */
  sweeperStalledJobsRequeued: 'SweeperStalledJobsRequeued',
  /** Batches whose batch.completed the sweeper queued because their progress had missed a finished job. */
  sweeperBatchesCompleted: 'SweeperBatchesCompleted',
  /** Finished jobs whose webhooks the extractor could not queue on their last receive, sent by the sweeper. */
  sweeperJobsAnnounced: 'SweeperJobsAnnounced',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
