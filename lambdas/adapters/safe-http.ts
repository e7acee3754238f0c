// Adapter: the only way Metahook makes outbound HTTP requests, shared by file fetches
// (extractor -> http-media-source -> here) and webhook callbacks (callback -> deliverEvent -> here).
// SSRF guard: re-check the URL, resolve the host once, refuse if any answer is forbidden, then
// connect to that checked address (DNS rebinding cannot swap it), never follow redirects,
// cap time and bytes. docs/security.md explains the threat model and the rules.
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { isForbiddenAddress, isLoopbackAddress } from '../core/address-policy';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../core/ports';
import { checkHttpUrl } from '../core/url-policy';
import type { OutboundPolicy } from '../runtime-config';

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

export const WEBHOOK_USER_AGENT = 'Metahook-Webhooks/1.0';
export const FETCH_USER_AGENT = 'Metahook-Fetcher/1.0';
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export type OutboundErrorCode =
  | 'forbidden_address'
  | 'forbidden_url'
  | 'timeout'
  | 'connect_failed'
  | 'too_large'
  | 'dns_failed'
  | 'network';

export class OutboundRequestError extends Error {
  override readonly name = 'OutboundRequestError';
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface FetchedBytes {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly bytes: Uint8Array;
}

export interface SafeHttpClient extends WebhookSender {
  /** GET with a byte cap and a total timeout. Any status is returned (3xx too); throws OutboundRequestError. */
  fetchBytes(url: string, options: { maxBytes: number; timeoutMs: number }): Promise<FetchedBytes>;
  /** Webhook POST. Never throws for a network problem: returns kind "error" with errorClass. */
  post(request: WebhookRequest): Promise<WebhookResponse>;
}

export interface SafeHttpClientOptions {
  readonly policy: OutboundPolicy;
  /**
   * Turns a host name into addresses; tests inject one to map names to 127.0.0.1.
   * @default dns.promises.lookup(hostname, { all: true })
   */
  readonly resolve?: Resolver;
  /**
   * Time allowed for the TCP connection itself; the request's total timeout applies as well.
   * @default 5000
   */
  readonly connectTimeoutMs?: number;
}

const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }));
};

interface Exchange {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** "fail": more than maxBytes is an error (files). "truncate": keep the first maxBytes (webhook replies). */
  readonly overflow: 'fail' | 'truncate';
}

interface PinnedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

interface PinnedTarget {
  readonly url: URL;
  /** Host name (or IP literal) without IPv6 brackets: goes into Host and TLS SNI. */
  readonly host: string;
  /** The checked addresses, in resolver order; the socket connects to one of these only. */
  readonly addresses: readonly PinnedAddress[];
}

/** Headers a caller may not set: they would change where or how the request goes. */
const RESERVED_HEADERS = new Set(['host', 'user-agent', 'content-length', 'transfer-encoding', 'connection', 'proxy-authorization', 'expect']);

function callerHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !RESERVED_HEADERS.has(name.toLowerCase())));
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/**
 * A lookup that ignores DNS and answers with the addresses we already checked.
 * It answers on the next tick, never synchronously: a synchronous answer makes Node connect
 * inside tls.connect(), and a connect that fails at once (ENETUNREACH/EADDRNOTAVAIL on a host
 * without IPv6 egress) destroys the socket before tls.connect() calls setServername on it —
 * the request then throws before its error listener exists and the socket's 'error' event
 * kills the process (issue 16).
 */
export function pinnedLookup(addresses: readonly PinnedAddress[]): LookupFunction {
  const first = addresses[0]!;
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    // Node asks with all:true when it races address families (autoSelectFamily): every
    // candidate it may pick from has passed the address rules.
    process.nextTick(() => {
      if (options.all === true) callback(null, addresses.map(({ address, family }) => ({ address, family })));
      else callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

const familyOf = (address: string): 4 | 6 => (isIP(address) === 6 ? 6 : 4);

/** Rejects with the deadline's reason if it fires first; the work itself cannot be cancelled (DNS). */
function raceDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown';
}

/** Our own message, never Node's: those can carry internal addresses into delivery logs. */
function classifySocketError(error: unknown, host: string, established: boolean): OutboundRequestError {
  if (error instanceof OutboundRequestError) return error;
  const code = errorCode(error);
  if (TLS_ERROR.test(code)) {
    return new OutboundRequestError('connect_failed', `TLS with ${host} failed (${code})`, { cause: error });
  }
  if (!established) {
    return new OutboundRequestError('connect_failed', `could not connect to ${host} (${code})`, { cause: error });
  }
  return new OutboundRequestError('network', `the connection to ${host} failed (${code})`, { cause: error });
}

export function createSafeHttpClient(options: SafeHttpClientOptions): SafeHttpClient {
  const { policy } = options;
  const resolve = options.resolve ?? systemResolver;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

  /** URL rules, then one DNS resolution whose every answer must pass the address rules. */
  async function pinTarget(raw: string, signal: AbortSignal): Promise<PinnedTarget> {
    const check = checkHttpUrl(raw, policy);
    if (!check.ok) throw new OutboundRequestError('forbidden_url', check.reason);
    const url = check.url;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    // An IP literal was already judged by the URL rules; there is nothing to resolve.
    if (isIP(host) !== 0) return { url, host, addresses: [{ address: host, family: familyOf(host) }] };

    const answers = await raceDeadline(
      resolve(host).catch((error: unknown) => {
        throw new OutboundRequestError('dns_failed', `could not resolve ${host} (${errorCode(error)})`, { cause: error });
      }),
      signal,
    );
    if (answers.length === 0) throw new OutboundRequestError('dns_failed', `${host} has no addresses`);
    for (const answer of answers) {
      // One bad answer refuses the request: which one a client would pick is not ours to predict.
      const verdict = isForbiddenAddress(answer.address, { loopbackAllowed: policy.allowLoopbackHttp });
      if (verdict.forbidden) {
        throw new OutboundRequestError('forbidden_address', `${host} resolves to a forbidden address (${verdict.range})`);
      }
      if (check.kind === 'http-loopback' && !isLoopbackAddress(answer.address)) {
        throw new OutboundRequestError('forbidden_address', `${host} must resolve to loopback only to be used over http://`);
      }
    }
    // The family comes from the address itself, not from what the resolver claimed.
    return { url, host, addresses: answers.map(({ address }) => ({ address, family: familyOf(address) })) };
  }

  function transmit(
    target: PinnedTarget,
    exchange: Exchange,
    signal: AbortSignal,
  ): Promise<{ status: number; headers: Record<string, string>; bytes: Uint8Array }> {
    return new Promise((resolvePromise, rejectPromise) => {
      const isHttps = target.url.protocol === 'https:';
      const bodyBytes = exchange.body === undefined ? undefined : Buffer.from(exchange.body, 'utf8');
      let request: http.ClientRequest;
      try {
        request = (isHttps ? https : http).request({
          method: exchange.method,
          host: target.host,
          port: target.url.port === '' ? (isHttps ? 443 : 80) : Number(target.url.port),
          path: `${target.url.pathname}${target.url.search}`,
          headers: bodyBytes ? { ...exchange.headers, 'content-length': String(bodyBytes.byteLength) } : exchange.headers,
          // A fresh agent per request: no pooled socket from an earlier resolution is ever reused.
          agent: false,
          lookup: pinnedLookup(target.addresses),
          // SNI and certificate check use the name, while the socket goes to the pinned address.
          ...(isHttps && isIP(target.host) === 0 ? { servername: target.host.replace(/\.$/, '') } : {}),
        });
      } catch (error) {
        // Belt and braces: whatever Node throws while setting up the socket is an attempt result.
        rejectPromise(classifySocketError(error, target.host, false));
        return;
      }

      let settled = false;
      let established = false;
      const chunks: Buffer[] = [];
      let received = 0;
      let connectTimer: NodeJS.Timeout | undefined;

      const cleanup = () => {
        settled = true;
        clearTimeout(connectTimer);
        signal.removeEventListener('abort', onDeadline);
      };
      const fail = (error: unknown) => {
        if (settled) return;
        cleanup();
        request.destroy();
        rejectPromise(classifySocketError(error, target.host, established));
      };
      const onDeadline = () => fail(signal.reason);
      connectTimer = setTimeout(
        () => fail(new OutboundRequestError('connect_failed', `could not connect to ${target.host} within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      if (signal.aborted) {
        fail(signal.reason);
        return;
      }
      signal.addEventListener('abort', onDeadline, { once: true });

      request.on('socket', (socket: Socket) => {
        // A socket error that reaches no request listener (emitted while Node is still wiring
        // the request up) must not become an uncaught exception: route it to the same result.
        socket.on('error', fail);
        socket.once('connect', () => clearTimeout(connectTimer));
        socket.once(isHttps ? 'secureConnect' : 'connect', () => {
          established = true;
        });
      });
      request.on('error', fail);
      request.on('response', (response) => {
        established = true;
        clearTimeout(connectTimer);
        const status = response.statusCode ?? 0;
        const headers = flattenHeaders(response.headers);
        const finish = () => {
          if (settled) return;
          cleanup();
          resolvePromise({ status, headers, bytes: new Uint8Array(Buffer.concat(chunks, received)) });
        };
        const tooLarge = () =>
          fail(new OutboundRequestError('too_large', `the response from ${target.host} is larger than ${exchange.maxBytes} bytes`));

        const declared = Number(response.headers['content-length']);
        if (exchange.overflow === 'fail' && Number.isFinite(declared) && declared > exchange.maxBytes) {
          tooLarge();
          return;
        }
        response.on('data', (chunk: Buffer) => {
          if (settled) return;
          const room = exchange.maxBytes - received;
          if (chunk.byteLength <= room) {
            chunks.push(chunk);
            received += chunk.byteLength;
            return;
          }
          if (exchange.overflow === 'fail') {
            tooLarge();
            return;
          }
          chunks.push(chunk.subarray(0, room));
          received += room;
          finish();
          // The rest of a webhook reply is not needed: stop reading instead of draining it.
          request.destroy();
        });
        response.on('end', finish);
        response.on('error', fail);
        response.on('close', () => {
          if (!settled && !response.complete) {
            fail(new OutboundRequestError('network', `${target.host} closed the connection before the response was complete`));
          }
        });
      });

      request.end(bodyBytes);
    });
  }

  async function send(request: Exchange) {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new OutboundRequestError('timeout', `no complete response within ${request.timeoutMs} ms`)),
      request.timeoutMs,
    );
    try {
      const target = await pinTarget(request.url, controller.signal);
      return await transmit(target, request, controller.signal);
    } catch (error) {
      // e.g. a header value Node refuses: still one of our typed errors for the caller.
      throw error instanceof OutboundRequestError
        ? error
        : new OutboundRequestError('network', 'the request could not be made', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async fetchBytes(url, { maxBytes, timeoutMs }) {
      return send({
        method: 'GET',
        url,
        headers: { 'user-agent': FETCH_USER_AGENT, accept: '*/*', 'accept-encoding': 'identity' },
        timeoutMs,
        maxBytes,
        overflow: 'fail',
      });
    },

    async post(request) {
      const startedAt = performance.now();
      const elapsed = () => Math.round(performance.now() - startedAt);
      try {
        const response = await send({
          method: 'POST',
          url: request.url,
          headers: {
            'content-type': 'application/json',
            ...callerHeaders(request.headers),
            'user-agent': WEBHOOK_USER_AGENT,
            'accept-encoding': 'identity',
          },
          body: request.body,
          timeoutMs: request.timeoutMs,
          maxBytes: request.maxResponseBytes,
          overflow: 'truncate',
        });
        return {
          kind: 'response',
          status: response.status,
          headers: response.headers,
          // A cut may split a UTF-8 sequence; the decoder substitutes rather than throws.
          body: new TextDecoder('utf-8').decode(response.bytes),
          durationMs: elapsed(),
        };
      } catch (error) {
        const failure =
          error instanceof OutboundRequestError
            ? error
            : new OutboundRequestError('network', 'the request failed unexpectedly', { cause: error });
        return { kind: 'error', errorClass: failure.code, message: failure.message, durationMs: elapsed() };
      }
    },
  };
}
