// Adapter: MediaSource for https:// file URLs (and loopback http:// in local mode).
// extractor -> extractJob -> MediaSource.fetch -> here -> safe-http. Turns HTTP outcomes into
// job errors: retry what may heal (429, 5xx, network), fail for good what will not.
import { parseRetryAfter } from '../core/retry-after';
import { PermanentJobError, TransientJobError } from '../core/errors';
import type { FetchedMedia, MediaSource } from '../core/ports';
import { OutboundRequestError, type SafeHttpClient } from './safe-http';

export interface HttpMediaSourceOptions {
  /**
   * Whole-request budget for one file, well inside the extractor's function timeout.
   * @default 30000
   */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function statusError(status: number, headers: Record<string, string>, host: string): Error {
  if (status === 404 || status === 410) {
    return new PermanentJobError('file_not_found', `${host} answered ${status}: the file does not exist`);
  }
  if (status === 429 || status >= 500) {
    const retryAfterSeconds = parseRetryAfter(headers['retry-after']);
    return new TransientJobError('file_fetch_failed', `${host} answered ${status}`, retryAfterSeconds !== undefined ? { retryAfterSeconds } : {});
  }
  if (status >= 300 && status < 400) {
    // Following a redirect would hand the target choice to whoever controls that server.
    return new PermanentJobError('file_fetch_failed', `${host} answered ${status} (redirect): redirects are not followed, give the final URL`);
  }
  return new PermanentJobError('file_fetch_failed', `${host} answered ${status}`);
}

function outboundError(error: OutboundRequestError): Error {
  switch (error.code) {
    case 'forbidden_url':
    case 'forbidden_address':
      return new PermanentJobError('file_url_forbidden', error.message, { cause: error });
    case 'too_large':
      return new PermanentJobError('file_too_large', error.message, { cause: error });
    case 'timeout':
    case 'connect_failed':
    case 'dns_failed':
    case 'network':
      return new TransientJobError('file_fetch_failed', error.message, { cause: error });
  }
}

export function createHttpMediaSource(
  client: Pick<SafeHttpClient, 'fetchBytes'>,
  options: HttpMediaSourceOptions = {},
): MediaSource {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    async fetch(url, { maxBytes }): Promise<FetchedMedia> {
      let response;
      try {
        response = await client.fetchBytes(url, { maxBytes, timeoutMs });
      } catch (error) {
        if (error instanceof OutboundRequestError) throw outboundError(error);
        throw new TransientJobError('file_fetch_failed', 'fetching the file failed unexpectedly', { cause: error });
      }
      if (response.status < 200 || response.status > 299) {
        throw statusError(response.status, response.headers, new URL(url).host);
      }
      const contentType = response.headers['content-type'];
      return { bytes: response.bytes, ...(contentType ? { contentType } : {}) };
    },
  };
}
