// Domain: the longest recording a job may send to the model (issue 12). The deployment sets a
// maximum (settings.extraction.maxAudioDurationSeconds); an operator may set a lower one per
// tenant (`metahook tenants set-audio-limit`). Read by extractJob from the tenant record it
// already loads, checked by the tenant command before it is stored. No AWS imports here.
import type { TenantRecord } from './records';

/** The limit that applies to one job, and whose it is (job.failed says so). */
export interface AudioDurationLimit {
  readonly maxSeconds: number;
  readonly setBy: 'tenant' | 'deployment';
}

/**
 * The tenant's own limit when it has one below the deployment's; the deployment's otherwise.
 * A tenant value above the deployment's (the deployment was lowered after it was set) is capped:
 * the deployment's limit is what its function timeout and budgets were sized for.
 */
export function audioLimitFor(tenant: Pick<TenantRecord, 'max_audio_seconds'>, deploymentMaxSeconds: number): AudioDurationLimit {
  const own = tenant.max_audio_seconds;
  if (own !== undefined && Number.isInteger(own) && own >= 1 && own < deploymentMaxSeconds) return { maxSeconds: own, setBy: 'tenant' };
  return { maxSeconds: deploymentMaxSeconds, setBy: 'deployment' };
}

/** "this tenant's limit" / "this deployment's limit": the words job.failed uses for the limit's owner. */
export const describeLimitOwner = (limit: Pick<AudioDurationLimit, 'setBy'>): string =>
  limit.setBy === 'tenant' ? "this tenant's limit" : "this deployment's limit";

export type AudioLimitRefusal = 'audio_limit_invalid' | 'audio_limit_above_deployment';

/** A per-tenant limit the tenant command will not store; `code` is stable for scripts. */
export class AudioLimitRefusedError extends Error {
  override readonly name = 'AudioLimitRefusedError';
  constructor(
    readonly code: AudioLimitRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** A whole number of seconds, at least 1 and at most the deployment's maximum. */
export function checkTenantAudioLimit(raw: string, deploymentMaxSeconds: number): number {
  const text = raw.trim();
  const seconds = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new AudioLimitRefusedError('audio_limit_invalid', `--max-seconds must be a whole number of seconds, at least 1 (got "${raw}")`);
  }
  if (seconds > deploymentMaxSeconds) {
    throw new AudioLimitRefusedError(
      'audio_limit_above_deployment',
      `--max-seconds ${seconds} is above this deployment's limit of ${deploymentMaxSeconds} s: a tenant may be given less, never more ` +
        '(raise maxAudioDurationSeconds and deploy first)',
    );
  }
  return seconds;
}
