// `metahook doctor --e2e-callback URL`: one real job through the deployed API, as an integrator
// sends it. doctor -> (POST /v1/uploads, PUT the bundled PNG to the presigned URL, POST /v1/jobs,
// GET /v1/jobs/{id} until the job and its delivery are settled). It uses a tenant API key the
// operator already has (METAHOOK_API_KEY), so the receiver can verify the signature with that
// tenant's signing secret; it never prints the key, the presigned URL or the callback's query.
import type { DoctorCheck } from './doctor';

export const END_TO_END_CHECK = 'end-to-end job';

export interface EndToEndDeps {
  /** The stage URL, ending in `/v1/` (stack output ApiBaseUrl; the local gateway's `/v1/`). */
  readonly apiBaseUrl: string;
  readonly apiKey: string;
  readonly callbackUrl: string;
  readonly image: Uint8Array;
  readonly fetch: typeof fetch;
  /** @default 120_000 */
  readonly timeoutMs?: number;
  /** @default 2_000 */
  readonly pollIntervalMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

interface ApiAnswer {
  readonly status: number;
  readonly json: any;
}

/** A URL as doctor may print it: no query (a receiver token may live there), no credentials. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}${url.search ? '?[redacted]' : ''}`;
  } catch {
    return '[unparseable url]';
  }
}

class StepFailed extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/** The fix for an API error envelope `{"error":{code,message}}` at one step. */
function apiFailure(step: string, answer: ApiAnswer, callbackUrl: string): StepFailed {
  const code: string | undefined = answer.json?.error?.code;
  const message: string = answer.json?.error?.message ?? (typeof answer.json === 'string' ? answer.json.slice(0, 200) : '');
  const detail = `${step} answered ${answer.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  switch (code ?? '') {
    case 'invalid_api_key':
    case 'missing_api_key':
      return new StepFailed(detail, 'set METAHOOK_API_KEY to an enabled tenant\'s API key (tenants create prints one; tenants enable re-enables a disabled tenant)');
    case 'callback_url_forbidden':
      return new StepFailed(
        detail,
        `the SSRF policy refuses ${redactUrl(callbackUrl)}: give a public https:// URL whose name resolves to public addresses only (docs/security.md lists what is refused)`,
      );
    case 'rate_limited':
    case 'quota_exceeded':
      return new StepFailed(detail, 'the tenant\'s usage plan refused the call: run doctor again later, or with another tenant\'s key');
    default:
      return new StepFailed(detail, answer.status >= 500 ? 'the API failed: see the intake Lambda\'s logs (its request id is in the answer)' : 'see the message; docs/api.md documents the request');
  }
}

/** The fix for a job that failed, by its failure code (lambdas/core/errors.ts JOB_FAILURE_CODES). */
function jobFailureFix(code: string | undefined): string {
  switch (code ?? '') {
    case 'model_error':
      return 'the model refused or failed: see the image model check above and the extractor\'s logs';
    case 'file_not_found':
    case 'file_fetch_failed':
      return 'the extractor could not read the uploaded file: check its role may s3:GetObject on the media bucket and the bucket\'s KMS key';
    default:
      return 'see the job\'s error; the extractor\'s logs carry the job id';
  }
}

function deliveryFailureFix(delivery: { last_status_code?: number | null; last_error?: string | null }, callbackUrl: string): string {
  const status = delivery.last_status_code;
  const where = redactUrl(callbackUrl);
  if (typeof status === 'number') {
    return status === 410
      ? `the receiver at ${where} answered 410 Gone, which ends delivery: point --e2e-callback at a live endpoint`
      : `the receiver at ${where} answered ${status}: it must answer 2xx (verify the signature with the tenant's signing secret and answer quickly)`;
  }
  if (/forbidden|refused|private|loopback|not allowed/i.test(delivery.last_error ?? '')) {
    return `the SSRF policy refused ${where} at delivery (its name resolved to a non-public address): use a receiver on a public address`;
  }
  return `the callback Lambda could not reach ${where} (${delivery.last_error ?? 'no answer'}): check DNS, TLS and that the receiver accepts connections from the internet`;
}

export async function runEndToEndCheck(deps: EndToEndDeps): Promise<DoctorCheck> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeoutMs = deps.timeoutMs ?? 120_000;
  const base = deps.apiBaseUrl.endsWith('/') ? deps.apiBaseUrl : `${deps.apiBaseUrl}/`;
  const api = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const response = await deps.fetch(new URL(path, base), {
      method,
      headers: { 'x-api-key': deps.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): kept as text for the message.
    }
    return { status: response.status, json };
  };

  const started = now();
  try {
    const staged = await api('POST', 'uploads', { filename: 'metahook-doctor.png', content_type: 'image/png', size_bytes: deps.image.byteLength });
    if (staged.status !== 201) throw apiFailure('POST /v1/uploads', staged, deps.callbackUrl);
    const upload = staged.json.upload as { url: string; headers: Record<string, string> };
    const put = await deps.fetch(upload.url, { method: 'PUT', headers: upload.headers, body: deps.image });
    await put.arrayBuffer().catch(() => undefined);
    if (put.status < 200 || put.status >= 300) {
      throw new StepFailed(`the presigned upload answered ${put.status}`, 'the uploads role could not write the media bucket: see its policy and the bucket\'s KMS key');
    }

    const submitted = await api('POST', 'jobs', {
      callback_url: deps.callbackUrl,
      files: [{ url: staged.json.file_url, external_id: 'metahook-doctor' }],
      // One event to the receiver, the one the job's delivery status follows.
      events: ['job.completed', 'job.failed'],
      metadata: { metahook_doctor: true },
    });
    if (submitted.status !== 202) throw apiFailure('POST /v1/jobs', submitted, deps.callbackUrl);
    const jobId = submitted.json.jobs?.[0]?.job_id as string;

    let job: any;
    for (;;) {
      const answer = await api('GET', `jobs/${encodeURIComponent(jobId)}`);
      if (answer.status !== 200) throw apiFailure(`GET /v1/jobs/${jobId}`, answer, deps.callbackUrl);
      job = answer.json;
      const delivery = job.delivery ?? {};
      if (job.status === 'failed') {
        throw new StepFailed(`job ${jobId} failed with ${job.error?.code ?? 'no code'}: ${job.error?.message ?? ''}`, jobFailureFix(job.error?.code));
      }
      if (job.status === 'cancelled') throw new StepFailed(`job ${jobId} was cancelled`, 'someone cancelled it (DELETE /v1/jobs): run doctor again');
      if (delivery.status === 'delivered') break;
      // A failed first attempt is enough to report: the retry schedule runs for hours.
      if (delivery.status === 'failed' || (delivery.attempts ?? 0) > 0) {
        const last = delivery.last_status_code != null ? `HTTP ${delivery.last_status_code}` : (delivery.last_error ?? 'no answer');
        throw new StepFailed(
          `job ${jobId} ${job.status}; delivery attempt ${delivery.attempts} to ${redactUrl(deps.callbackUrl)} failed (${last})${delivery.status === 'failed' ? '' : '; retries continue on the schedule'}`,
          deliveryFailureFix(delivery, deps.callbackUrl),
        );
      }
      if (now() - started > timeoutMs) {
        throw new StepFailed(
          `job ${jobId} still ${job.status} (delivery ${delivery.status ?? 'pending'}) after ${Math.round(timeoutMs / 1000)} s`,
          job.status === 'queued'
            ? 'nothing took the job: check the extractor\'s event source mapping on the jobs queue and its logs'
            : job.status === 'processing'
              ? 'the extractor is still working or stuck: see its logs for the job id'
              : 'the callback has not attempted the delivery: check its event source mapping on the deliveries queue and its logs',
        );
      }
      await sleep(deps.pollIntervalMs ?? 2_000);
    }
    const seconds = ((now() - started) / 1000).toFixed(1);
    return {
      name: END_TO_END_CHECK,
      status: 'pass',
      detail: `job ${jobId} completed and its signed job.completed event reached ${redactUrl(deps.callbackUrl)} (HTTP ${job.delivery.last_status_code ?? '2xx'}, ${seconds} s); the receiver verifies it with the tenant's signing secret`,
    };
  } catch (error) {
    if (error instanceof StepFailed) return { name: END_TO_END_CHECK, status: 'fail', detail: error.message, fix: error.fix };
    const err = error as Error & { cause?: { code?: string } };
    return {
      name: END_TO_END_CHECK,
      status: 'fail',
      detail: `cannot reach the API at ${redactUrl(base)}: ${err.message}${err.cause?.code ? ` (${err.cause.code})` : ''}`,
      fix: 'check the ApiBaseUrl output (or that npm start is running) and your network',
    };
  }
}
