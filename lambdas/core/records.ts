// The domain's stored records, independent of how DynamoDB lays them out
// (see ../adapters/dynamo for keys and indexes).
import type { ExtractionOptions, JobStatus, MediaKind, WebhookEventType } from './api-schemas';
import type { MediaSourceGrant } from './media-scope';
import type { MetadataResult } from './metadata-result';
import type { DeliverySummaryUpdate, ModelUsage } from './ports';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliverySummary {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly event_id: string | null;
  readonly last_status_code: number | null;
  readonly last_error: string | null;
  readonly updated_at: string | null;
  /**
   * While pending: when the next attempt is due (ISO). The callback decides retries from this and
   * `failures`, not from SQS receive counts; a receive before it only postpones the message again.
   */
  readonly next_attempt_at?: string | null;
  /** Failed attempts since the last success (or since the first attempt): the schedule position. */
  readonly failures?: number;
}

/** A job's delivery summary before its first attempt (what a new job starts with). */
export const INITIAL_DELIVERY_SUMMARY: DeliverySummary = Object.freeze({
  status: 'pending',
  attempts: 0,
  event_id: null,
  last_status_code: null,
  last_error: null,
  updated_at: null,
});

/** The delivery summary a job (or batch) holds after an outcome: what the next receipt decides from. */
export function deliverySummaryOf(update: DeliverySummaryUpdate): DeliverySummary {
  return {
    status: update.status,
    attempts: update.attempt,
    event_id: update.eventId,
    last_status_code: update.lastStatusCode,
    last_error: update.lastError,
    updated_at: update.at.toISOString(),
    failures: update.failures,
    next_attempt_at: update.nextAttemptAt ? update.nextAttemptAt.toISOString() : null,
  };
}

export interface JobRecord {
  readonly job_id: string;
  readonly tenant_id: string;
  readonly batch_id: string;
  /** The job's position among its batch's job_ids (where its batch progress is recorded). */
  readonly batch_slot?: number;
  readonly url: string;
  readonly external_id: string | null;
  readonly declared_media_type: MediaKind | null;
  readonly callback_url: string;
  readonly metadata: Record<string, unknown> | null;
  readonly status: JobStatus;
  readonly created_at: string;
  readonly updated_at: string;
  readonly finished_at?: string;
  readonly media_type?: MediaKind;
  readonly result?: MetadataResult;
  readonly error?: JobError;
  readonly model?: { readonly provider: string; readonly id: string };
  readonly source?: { readonly sha256: string; readonly bytes: number; readonly content_type: string };
  readonly usage?: ModelUsage;
  /** Set on completion: what made the result and what it cost (issue 14). */
  readonly provenance?: Provenance;
  /** The request's extraction options (canonical); absent or null = defaults. Part of the dedupe key. */
  readonly options?: ExtractionOptions | null;
  /** The request's `events`; absent or null = all. */
  readonly events?: readonly WebhookEventType[] | null;
  /** The request's callback_headers, sealed (core/callback-headers); never returned, logged or audited. */
  readonly callback_headers_sealed?: string | null;
  readonly delivery: DeliverySummary;
}

/** What produced a job's result and what it cost, sent in every job.completed. */
export interface Provenance {
  readonly provider: string;
  readonly model_id: string;
  readonly prompt_version: string;
  readonly input_tokens: number;
  readonly output_tokens: number;
  /** Audio sent to the model (normalised, repairs included); audio only. */
  readonly audio_seconds?: number;
  /** Pixels of the image sent to the model (after downscaling); images only. */
  readonly image_pixels?: number;
  /** From the deployed price table; null when it has no price for the model. */
  readonly cost_usd: number | null;
  /** Version of the price table the cost comes from. */
  readonly price_table: string;
}

export interface JobError {
  readonly code: string;
  readonly message: string;
  /** True when the failure was transient retries running out: a redrive may re-extract. */
  readonly retryable?: boolean;
}

export interface BatchRecord {
  readonly batch_id: string;
  readonly tenant_id: string;
  readonly callback_url: string;
  readonly metadata: Record<string, unknown> | null;
  /** Jobs this batch created; batch.completed waits for these. */
  readonly job_ids: readonly string[];
  /** Jobs the request matched that already existed (idempotent duplicates). */
  readonly duplicate_job_ids: readonly string[];
  readonly total: number;
  readonly counts: { readonly completed: number; readonly failed: number; readonly cancelled: number };
  readonly created_at: string;
  readonly completed_event_at?: string;
  readonly delivery?: DeliverySummary;
  /** The request's `events`; absent or null = all. */
  readonly events?: readonly WebhookEventType[] | null;
  /** Sealed callback_headers, shared by the batch's jobs (sealed for this batch). */
  readonly callback_headers_sealed?: string | null;
}

export interface DeliveryAttemptRecord {
  readonly tenant_id: string;
  readonly event_id: string;
  readonly event_type: string;
  readonly job_id: string | null;
  readonly batch_id: string | null;
  readonly attempt: number;
  readonly started_at: string;
  readonly duration_ms: number;
  /** The callback URL with its query string redacted. */
  readonly url: string;
  readonly http_status: number | null;
  readonly error_class: string | null;
  /** First 1 KB of the receiver's response body. */
  readonly response_body: string | null;
  readonly outcome: 'delivered' | 'retrying' | 'failed' | 'dead_lettered';
}

export type TenantStatus = 'active' | 'disabled';

export interface TenantRecord {
  readonly tenant_id: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly api_key_id: string;
  readonly created_at: string;
  /** Source buckets/prefixes this tenant may reference besides its own upload prefix (issue 16). @default none */
  readonly media_sources?: readonly MediaSourceGrant[];
  /**
   * Longest recording this tenant's jobs may send to the model (issue 12; `tenants set-audio-limit`),
   * capped by the deployment's maxAudioDurationSeconds (core/audio-limit.ts). @default the deployment's
   */
  readonly max_audio_seconds?: number;
}

export interface SigningSecret {
  /** `whsec_<base64 of 32 random bytes>` */
  readonly secret: string;
  /** Set on a rotated-out secret: it still signs until then. */
  readonly expires_at: string | null;
}

/**
 * A signing secret as the tenant item holds it: sealed with the SecretSealer under
 * signingSecretContext(tenant) (lambdas/core/secret-custody.ts), so a table reader sees ciphertext.
 */
export interface SealedSigningSecret {
  /** `metahook:sealed:v1:...` (lambdas/adapters/kms-secret-sealer.ts) */
  readonly sealed: string;
  readonly expires_at: string | null;
}

/**
 * What a tenant item may hold during the migration to sealed secrets: items written before it
 * carry the plaintext SigningSecret until `metahook tenants seal-secrets` rewrites them.
 */
export type StoredSigningSecret = SealedSigningSecret | SigningSecret;

export const isSealedSecret = (stored: StoredSigningSecret): stored is SealedSigningSecret => 'sealed' in stored;
