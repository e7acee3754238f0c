// Test support for unit tests of the sweeper's use cases (core/sweep-outbox.ts, core/sweep-leases.ts):
// fakes of the ports both sweeps use, writing into one event log so a test can assert the order of
// claims, sends and closes.

import type { JobMessage, JobQueue } from '../../lambdas/core/ports';

/** A JobQueue that keeps what it was sent and logs `enqueue <job ids>` per call. */
export function recordingJobQueue(events: string[]): { queue: JobQueue; queued: JobMessage[] } {
  const queued: JobMessage[] = [];
  const queue: JobQueue = {
    enqueueJobs: async (messages) => {
      events.push(`enqueue ${messages.map((m) => m.job_id).join(',')}`);
      queued.push(...messages);
    },
  };
  return { queue, queued };
}

/** A listing of the items older than the cutoff it is asked for (ISO timestamps), keeping each cutoff. */
export function olderThanListing<T>(items: readonly T[], timeOf: (item: T) => string): { list: (before: Date) => Promise<T[]>; asked: Date[] } {
  const asked: Date[] = [];
  return {
    asked,
    list: async (before) => {
      asked.push(before);
      return items.filter((item) => timeOf(item) < before.toISOString());
    },
  };
}
