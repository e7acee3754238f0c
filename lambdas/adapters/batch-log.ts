// Adapter (logging): extractor and callback handlers -> one INFO line per SQS batch. A line per
// record was ~0.5 KB of CloudWatch Logs per file in each handler, the largest log cost per file
// (BENCHMARKS.md cost table). The batch line counts the outcomes and names every record's id under
// its outcome, so a job's or event's trail stays one search away; a record that did not go the
// normal way still writes its own line as well.
import type { Logger } from '@aws-lambda-powertools/logger';

export class BatchLog {
  private readonly idsByOutcome: Record<string, string[]> = {};
  private count = 0;

  add(outcome: string, id: string): void {
    (this.idsByOutcome[outcome] ??= []).push(id);
    this.count += 1;
  }

  /** One INFO line for the batch; nothing when no record reached an outcome. */
  write(logger: Logger, message: string): void {
    if (this.count === 0) return;
    const outcomes = Object.fromEntries(Object.entries(this.idsByOutcome).map(([outcome, ids]) => [outcome, ids.length]));
    logger.info(message, { records: this.count, outcomes, ids: this.idsByOutcome });
  }
}
