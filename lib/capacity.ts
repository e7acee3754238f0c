// Capacity plan: ONE setting (files/s the deployment must sustain, shared by how many tenants may
// send at full rate at once) from which the extractor's concurrency and batch size and the usage
// plan's POST /jobs throttle and quota are derived, then checked together against the 15-minute
// promise and the Bedrock quotas. Pure arithmetic (no AWS imports): lib/settings.ts resolves it for
// the handlers and the local stack, lib/deploy-config.ts for the CDK app. Formula: docs/deploy.md.

/** The end-to-end promise: a file accepted now is delivered (or dead-lettered) within this. */
export const PROMISE_SECONDS = 15 * 60;

/**
 * SQS event source mapping maximum concurrency: 2..1000.
 * Source: AWS Lambda Developer Guide, "Configuring maximum concurrency for Amazon SQS event sources"
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
 */
export const ESM_MAX_CONCURRENCY_RANGE = { min: 2, max: 1000 } as const;

/** SQS ReceiveMessage returns at most 10 messages; larger batches need a batching window. */
export const SQS_MAX_BATCH_WITHOUT_WINDOW = 10;

/** Batch sizes the plan may pick, smallest first: 5 is the size the memory bench measured. */
const BATCH_SIZES = [5, 10] as const;

export interface ModelQuota {
  /** Service Quotas: "(Cross-Region|On-demand) InvokeModel requests per minute for <model>". */
  readonly requestsPerMinute: number;
  /** Service Quotas: "(Cross-Region|On-demand) InvokeModel tokens per minute for <model>" (input + output). */
  readonly tokensPerMinute: number;
  /** Input + output tokens one file costs (docs/bedrock.md, "What a file costs"). */
  readonly tokensPerFile: number;
}

export interface CapacityInputs {
  /** Files per second the deployment must finish, sustained (all tenants together). */
  readonly filesPerSecond: number;
  /** Tenants that may each send at their plan's full rate at the same time. */
  readonly tenantsAtFullRate: number;
  /** Seconds one record occupies the extractor (fetch + model call), a high percentile. */
  readonly secondsPerFile: number;
  /** Extractor concurrency the account can give (Lambda's default account limit is 1,000 in all). */
  readonly maxExtractorConcurrency: number;
  /** Of the promise, seconds kept for extraction retries and the first delivery attempts. */
  readonly latencyAllowanceSeconds: number;
  /** Files per request at most (lib/settings.ts api.maxFilesPerRequest): the worst case per admitted request. */
  readonly maxFilesPerRequest: number;
  /** Mean seconds one webhook delivery occupies the callback (a slow receiver times out at 15 s). */
  readonly deliverySecondsPerEvent: number;
  /** Share of files that are images (the rest audio), for the per-model quota checks. */
  readonly imageShare: number;
  /** Share of a month a tenant may run at its full rate before the monthly quota stops it. */
  readonly monthlyDutyCycle: number;
  readonly bedrock: { readonly image: ModelQuota; readonly audio: ModelQuota };
}

export interface UsagePlanThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface CapacityPlan {
  readonly inputs: CapacityInputs;
  readonly extractor: {
    readonly batchSize: number;
    /** Event source maxConcurrency; the function's reserved concurrency is the same number. */
    readonly maxConcurrency: number;
    /** Files/s the extractor finishes at that concurrency. */
    readonly filesPerSecond: number;
  };
  /** The callback: one webhook per file (plus one per batch), batches of 10 delivered in parallel. */
  readonly callback: { readonly batchSize: number; readonly maxConcurrency: number };
  /** Throttle per API key on POST /jobs, the only route that admits files. */
  readonly submitThrottle: UsagePlanThrottle;
  /** Requests per key per month. */
  readonly monthlyQuota: number;
  /** Seconds a full backlog may take to drain: the promise minus the latency allowance. */
  readonly drainSeconds: number;
}

export class CapacityError extends Error {
  override readonly name = 'CapacityError';
  constructor(readonly problems: readonly string[]) {
    super(`Capacity plan does not hold:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const SECONDS_PER_MONTH = 30 * 24 * 3600;
const floorTo = (value: number, digits: number) => Math.floor(value * 10 ** digits) / 10 ** digits;
const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 }));

/**
 * Derives the plan and checks it. Formula (docs/deploy.md, "Capacity"):
 *   concurrency = ceil(F * s / b), the smallest b in {5, 10} that fits the concurrency budget
 *   (records of a batch run in parallel: Powertools BatchProcessor's default);
 *   callback concurrency = max(20, ceil(F * (1 + 1/m) * d / 10)), d = seconds per delivery;
 *   POST /jobs rate   = F / (N * m) requests/s per key (N tenants at full rate, m files per request);
 *   POST /jobs burst  = floor(F * D / (N * m)), D = promise - latency allowance;
 *   quota             = ceil(rate * 30 days * duty cycle);
 *   Bedrock, per model: F * share * 60 <= requests/min and F * share * 60 * tokens/file <= tokens/min.
 */
export function deriveCapacityPlan(inputs: CapacityInputs, overrides: Partial<UsagePlanThrottle & { monthlyQuota: number }> = {}): CapacityPlan {
  const problems: string[] = [];
  const F = inputs.filesPerSecond;
  const N = inputs.tenantsAtFullRate;
  const m = inputs.maxFilesPerRequest;
  const drainSeconds = PROMISE_SECONDS - inputs.latencyAllowanceSeconds;
  if (!(F > 0) || !(N >= 1) || !(inputs.secondsPerFile > 0) || !(m >= 1)) {
    throw new CapacityError([`filesPerSecond, tenantsAtFullRate, secondsPerFile and maxFilesPerRequest must be positive (got ${F}, ${N}, ${inputs.secondsPerFile}, ${m})`]);
  }
  if (drainSeconds <= 0) problems.push(`latencyAllowanceSeconds (${inputs.latencyAllowanceSeconds}) must be shorter than the ${PROMISE_SECONDS}s promise`);

  const concurrencyFor = (batch: number) => Math.max(ESM_MAX_CONCURRENCY_RANGE.min, Math.ceil((F * inputs.secondsPerFile) / batch));
  const budget = Math.min(inputs.maxExtractorConcurrency, ESM_MAX_CONCURRENCY_RANGE.max);
  const batchSize = BATCH_SIZES.find((b) => concurrencyFor(b) <= budget) ?? SQS_MAX_BATCH_WITHOUT_WINDOW;
  const maxConcurrency = concurrencyFor(batchSize);
  if (maxConcurrency > budget) {
    problems.push(
      `${fmt(F)} files/s at ${inputs.secondsPerFile}s per file needs ${fmt(maxConcurrency)} concurrent extractors at batch size ${batchSize}, ` +
        `over the budget of ${fmt(budget)} (maxExtractorConcurrency, and the event source's limit of ${ESM_MAX_CONCURRENCY_RANGE.max}); ` +
        'lower capacityFilesPerSecond or raise the concurrency budget',
    );
  }
  const extractorFilesPerSecond = (maxConcurrency * batchSize) / inputs.secondsPerFile;
  // Deliveries: F job events plus F/m batch events per second; never below today's 20.
  const callbackBatch = SQS_MAX_BATCH_WITHOUT_WINDOW;
  const callbackConcurrency = Math.max(20, Math.ceil((F * (1 + 1 / m) * inputs.deliverySecondsPerEvent) / callbackBatch));
  if (callbackConcurrency > ESM_MAX_CONCURRENCY_RANGE.max) {
    problems.push(`${fmt(F)} files/s needs ${fmt(callbackConcurrency)} concurrent callbacks at ${inputs.deliverySecondsPerEvent}s per delivery, over the event source's limit of ${ESM_MAX_CONCURRENCY_RANGE.max}`);
  }

  for (const kind of ['image', 'audio'] as const) {
    const quota = inputs.bedrock[kind];
    const share = kind === 'image' ? inputs.imageShare : 1 - inputs.imageShare;
    const rpm = F * share * 60;
    const tpm = rpm * quota.tokensPerFile;
    if (rpm > quota.requestsPerMinute) {
      problems.push(
        `${kind} model: ${fmt(F)} files/s x ${fmt(share)} share needs ${fmt(rpm)} requests/min, over its quota of ${fmt(quota.requestsPerMinute)} ` +
          `(Service Quotas "InvokeModel requests per minute"; set bedrock${kind === 'image' ? 'Image' : 'Audio'}RequestsPerMinute to your account's value or lower capacityFilesPerSecond)`,
      );
    }
    if (tpm > quota.tokensPerMinute) {
      problems.push(
        `${kind} model: ${fmt(F)} files/s x ${fmt(share)} share x ${fmt(quota.tokensPerFile)} tokens needs ${fmt(tpm)} tokens/min, over its quota of ${fmt(quota.tokensPerMinute)} ` +
          `(Service Quotas "InvokeModel tokens per minute"; set bedrock${kind === 'image' ? 'Image' : 'Audio'}TokensPerMinute or lower capacityFilesPerSecond)`,
      );
    }
  }

  const perKeyFiles = F / N;
  const derivedRate = Math.max(0.01, floorTo(perKeyFiles / m, 2));
  const derivedBurst = Math.max(1, Math.ceil(derivedRate), Math.floor((perKeyFiles * Math.max(drainSeconds, 0)) / m));
  const submitThrottle: UsagePlanThrottle = {
    rateLimit: overrides.rateLimit ?? derivedRate,
    burstLimit: overrides.burstLimit ?? derivedBurst,
  };
  // Sustained: N keys x rate x m files must not outrun what the pipeline finishes.
  const admittedPerSecond = N * submitThrottle.rateLimit * m;
  if (admittedPerSecond > F + 1e-9) {
    problems.push(
      `the POST /jobs throttle admits ${fmt(admittedPerSecond)} files/s (${fmt(N)} tenants x ${fmt(submitThrottle.rateLimit)} requests/s x ${fmt(m)} files) ` +
        `but the deployment is sized for ${fmt(F)} files/s: the backlog would grow without bound and break the ${PROMISE_SECONDS / 60}-minute promise; ` +
        `set submitRateLimit <= ${fmt(floorTo(F / (N * m), 2))} or raise capacityFilesPerSecond`,
    );
  }
  // Burst: a full bucket from every key at once must drain within the promise, minus the allowance.
  const burstFiles = N * submitThrottle.burstLimit * m;
  if (burstFiles > F * drainSeconds) {
    problems.push(
      `the POST /jobs burst admits ${fmt(burstFiles)} files at once (${fmt(N)} tenants x ${fmt(submitThrottle.burstLimit)} requests x ${fmt(m)} files), ` +
        `more than ${fmt(F)} files/s finish in ${fmt(drainSeconds)}s (${fmt(F * drainSeconds)} files); set submitBurstLimit <= ${fmt(Math.floor((F * drainSeconds) / (N * m)))}`,
    );
  }
  if (submitThrottle.burstLimit < submitThrottle.rateLimit) {
    problems.push(`submitBurstLimit (${submitThrottle.burstLimit}) must be >= the submit rate (${submitThrottle.rateLimit})`);
  }
  if (problems.length > 0) throw new CapacityError(problems);

  return {
    inputs,
    extractor: { batchSize, maxConcurrency, filesPerSecond: extractorFilesPerSecond },
    callback: { batchSize: callbackBatch, maxConcurrency: callbackConcurrency },
    submitThrottle,
    monthlyQuota: overrides.monthlyQuota ?? Math.max(1, Math.ceil(floorTo(submitThrottle.rateLimit * SECONDS_PER_MONTH * inputs.monthlyDutyCycle, 6))),
    drainSeconds,
  };
}
