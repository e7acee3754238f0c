// Identifier formats. Job, batch and tenant ids are ULIDs (time-sortable) with a type
// prefix; webhook ids are derived from what the event is about, so every retry and
// redelivery of the same event carries the same webhook-id.
import { monotonicFactory, ulid } from 'ulid';

// Monotonic within a process: ids made in the same millisecond still sort in the order they were
// made, so a batch's jobs (ids made in file order by one intake) list in submission order.
// Marked pure so bundles that only derive event ids (callback, extractor...) leave ulid out.
const monotonicUlid = /* @__PURE__ */ monotonicFactory();

export const newJobId = (): string => `job_${monotonicUlid()}`;
export const newBatchId = (): string => `bat_${ulid()}`;
export const newTenantId = (): string => `ten_${ulid()}`;
/** The folder of one POST /v1/uploads object: tenants/<tenant>/uploads/<upload id>/<filename>. */
export const newUploadId = (): string => `upl_${ulid()}`;

export type JobOutcome = 'completed' | 'failed';

/** The webhook-id of a job's terminal event: one per job and outcome, never random. */
export const jobEventId = (jobId: string, outcome: JobOutcome): string =>
  `msg_${jobId.replace(/^job_/, '')}_${outcome}`;

/** The webhook-id of a batch's batch.completed event. */
export const batchEventId = (batchId: string): string => `msg_${batchId.replace(/^bat_/, '')}_batch`;
