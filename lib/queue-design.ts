// The SQS queues of the pipeline as data: timings, retention and dead-letter wiring.
// A pure function of the settings, read by the CDK constructs (lib/constructs/pipeline-queue.ts)
// AND by the local stack when it creates its emulator queues, so both run the same queues.
import type { Settings } from './settings';

export type QueueName = 'jobs' | 'jobsDeadLetter' | 'jobsHeld' | 'deliveries' | 'deliveriesDeadLetter';

export interface QueueDesign {
  readonly name: QueueName;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  /** Where SQS moves a message after maxReceiveCount receives; absent on dead-letter queues. */
  readonly deadLetter?: { readonly queue: QueueName; readonly maxReceiveCount: number };
  /** What the queue carries, for docs and reviewers. */
  readonly purpose: string;
}

/** Visibility of a message read from a dead-letter queue by an operator tool (redrive, audit). */
export const DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS = 30;

export function queueDesigns(settings: Settings): Readonly<Record<QueueName, QueueDesign>> {
  return {
    jobs: {
      name: 'jobs',
      visibilityTimeoutSeconds: settings.extraction.queueVisibilityTimeoutSeconds,
      retentionSeconds: settings.queues.messageRetentionSeconds,
      deadLetter: { queue: 'jobsDeadLetter', maxReceiveCount: settings.extraction.maxReceiveCount },
      purpose: 'one message per job: intake -> extractor',
    },
    jobsDeadLetter: {
      name: 'jobsDeadLetter',
      visibilityTimeoutSeconds: DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS,
      retentionSeconds: settings.queues.deadLetterRetentionSeconds,
      purpose: 'jobs whose extraction retries ran out or that the extractor dead-lettered',
    },
    jobsHeld: {
      name: 'jobsHeld',
      visibilityTimeoutSeconds: DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS,
      // As long as a dead-letter queue keeps its messages: a held job is not lost before one would be.
      retentionSeconds: settings.queues.deadLetterRetentionSeconds,
      purpose: 'jobs of a disabled tenant, no alarm; `tenants enable` moves them back to the jobs queue',
    },
    deliveries: {
      name: 'deliveries',
      visibilityTimeoutSeconds: settings.delivery.queueVisibilityTimeoutSeconds,
      retentionSeconds: settings.queues.messageRetentionSeconds,
      deadLetter: { queue: 'deliveriesDeadLetter', maxReceiveCount: settings.delivery.maxReceiveCount },
      purpose: 'one message per webhook event: extractor -> callback',
    },
    deliveriesDeadLetter: {
      name: 'deliveriesDeadLetter',
      visibilityTimeoutSeconds: DEAD_LETTER_VISIBILITY_TIMEOUT_SECONDS,
      retentionSeconds: settings.queues.deadLetterRetentionSeconds,
      purpose: 'webhook events whose delivery attempts ran out (redrive with the CLI)',
    },
  };
}
