// Domain rule: which file and callback URLs Metahook accepts. Intake (submitJobs) calls it so a
// bad URL is refused before any job exists; adapters/safe-http calls it again before each
// request and then checks the DNS answer, which this module never sees. Pure: no DNS, no I/O.
import { resolveSettings } from '../../lib/settings';
import type { OutboundPolicy, SourcePolicy } from '../runtime-config';
import { isForbiddenAddress, isIpLiteral, isLoopbackAddress } from './address-policy';
import { hasDotSegment } from './media-scope';

export type UrlKind = 'https' | 'http-loopback' | 's3';

export type UrlCheck =
  | {
      readonly ok: true;
      /** The URL as WHATWG parsing normalised it: use this, not the raw string. */
      readonly url: URL;
      readonly kind: UrlKind;
      /** s3 only. */
      readonly bucket?: string;
      /** s3 only, percent-decoded. */
      readonly key?: string;
    }
  | { readonly ok: false; readonly reason: string };

const MAX_URL_LENGTH = resolveSettings().api.maxUrlLength;

/**
 * Names that lead to the machine itself or to a private network. Single-label names are refused
 * separately: a resolver's search list can turn "instance-data" or "metadata" into an internal host.
 */
const LOOPBACK_NAME = /(^|\.)localhost$/;
const PRIVATE_NAME_SUFFIXES = ['.internal', '.local', '.localdomain', '.arpa', '.home', '.lan', '.corp', '.intranet', '.private'];

// S3 general-purpose bucket naming rules (lower case, 3-63, no "..", not an IP, reserved affixes).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

const refuse = (reason: string): UrlCheck => ({ ok: false, reason });

/** Whitespace and control characters: WHATWG silently drops some, other parsers do not. */
const hasInvisibleCharacters = (raw: string): boolean => /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/.test(raw);

function parse(raw: string): URL | string {
  if (raw.length === 0) return 'the URL is empty';
  if (raw.length > MAX_URL_LENGTH) return `the URL is longer than ${MAX_URL_LENGTH} characters`;
  if (hasInvisibleCharacters(raw)) return 'the URL contains whitespace or control characters (percent-encode them)';
  // A backslash is a slash to WHATWG but not to every other parser: refuse the ambiguity.
  if (raw.includes('\\')) return 'the URL contains a backslash';
  try {
    return new URL(raw);
  } catch {
    return 'not a valid absolute URL';
  }
}

/** The hostname without IPv6 brackets and without the trailing dot of a fully qualified name. */
function bareHost(url: URL): string {
  const host = url.hostname;
  if (host.startsWith('[')) return host.slice(1, -1);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** Loopback by address (127.0.0.0/8, ::1) or by name (localhost, *.localhost). */
function isLoopbackHost(host: string): boolean {
  return isIpLiteral(host) ? isLoopbackAddress(host) : LOOPBACK_NAME.test(host);
}

/** Host rules that need no DNS. Returns a reason when the host is refused. */
function checkHost(host: string, policy: OutboundPolicy): string | undefined {
  if (host.length === 0) return 'the URL has no host';
  if (isIpLiteral(host)) {
    const verdict = isForbiddenAddress(host, { loopbackAllowed: policy.allowLoopbackHttp });
    return verdict.forbidden ? `${host} is in a forbidden address range (${verdict.range})` : undefined;
  }
  if (LOOPBACK_NAME.test(host)) {
    return policy.allowLoopbackHttp ? undefined : `${host} names this machine (loopback)`;
  }
  // Anything else that reaches the name checks must be a public DNS name.
  if (!host.includes('.')) return `${host} is not a fully qualified domain name`;
  const suffix = PRIVATE_NAME_SUFFIXES.find((candidate) => host.endsWith(candidate));
  if (suffix !== undefined) return `${host} is a private or internal name (*${suffix})`;
  // WHATWG turns a host whose last label is numeric into IPv4 or rejects it, so a name that
  // still ends in digits here is odd enough to refuse rather than hand to a resolver.
  if (/\.\d+$/.test(host)) return `${host} looks like an IP address but is not one`;
  return undefined;
}

function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** https (or loopback http in local mode) URLs: the rules callbacks and HTTP file fetches share. */
export function checkHttpUrl(raw: string, policy: OutboundPolicy): UrlCheck {
  const url = parse(raw);
  if (typeof url === 'string') return refuse(url);
  return checkParsedHttpUrl(url, policy);
}

function checkParsedHttpUrl(url: URL, policy: OutboundPolicy): UrlCheck {
  const host = bareHost(url);
  let kind: UrlKind;
  if (url.protocol === 'https:') {
    kind = 'https';
  } else if (url.protocol === 'http:' && policy.allowLoopbackHttp && isLoopbackHost(host)) {
    kind = 'http-loopback';
  } else if (url.protocol === 'http:') {
    return refuse(
      policy.allowLoopbackHttp
        ? 'http:// is allowed only for loopback hosts in local mode; use https://'
        : 'only https:// URLs are allowed',
    );
  } else {
    return refuse(`the ${url.protocol}// scheme is not allowed; use https://`);
  }
  if (url.username !== '' || url.password !== '') return refuse('the URL must not contain a user name or password');
  const hostProblem = checkHost(host, policy);
  if (hostProblem !== undefined) return refuse(hostProblem);
  const port = effectivePort(url);
  // Local mode's loopback servers listen on random ports; everything else stays on the allowlist.
  if (kind !== 'http-loopback' && !policy.allowedPorts.includes(port)) {
    return refuse(`port ${port} is not allowed (allowed: ${policy.allowedPorts.join(', ')})`);
  }
  return { ok: true, url, kind };
}

/** Rules for a callback_url: https only (loopback http in local mode), never s3. */
export function checkCallbackUrl(raw: string, policy: OutboundPolicy): UrlCheck {
  return checkHttpUrl(raw, policy);
}

function isValidBucketName(bucket: string): boolean {
  return (
    BUCKET_NAME.test(bucket) &&
    !bucket.includes('..') &&
    !bucket.includes('.-') &&
    !bucket.includes('-.') &&
    !isIpLiteral(bucket) &&
    !RESERVED_BUCKET_PREFIXES.some((prefix) => bucket.startsWith(prefix)) &&
    !RESERVED_BUCKET_SUFFIXES.some((suffix) => bucket.endsWith(suffix))
  );
}

function checkS3Url(raw: string, url: URL, sources: SourcePolicy): UrlCheck {
  // s3: is not a WHATWG special scheme, so the host keeps its case and nothing is normalised.
  // The S3 reader matches the raw string, so the spelling must be the plain one too.
  if (!raw.startsWith('s3://')) return refuse('write S3 locations as s3://bucket/key');
  if (url.username !== '' || url.password !== '') return refuse('an s3:// URL must not contain a user name or password');
  if (url.port !== '') return refuse('an s3:// URL must not contain a port');
  if (url.search !== '' || url.hash !== '') {
    return refuse('an s3:// URL must not contain ? or # (percent-encode them if they are part of the key)');
  }
  const bucket = url.hostname;
  if (!isValidBucketName(bucket)) return refuse(`"${bucket}" is not a valid S3 bucket name`);
  if (bucket !== sources.mediaBucket && !sources.allowedSourceBuckets.includes(bucket)) {
    return refuse(`bucket ${bucket} is not the media bucket or on the allowed source bucket list`);
  }
  // The S3 reader sees the raw string; refuse keys the parser rewrites (a/../b, unencoded "<").
  const pathStart = raw.indexOf('/', 's3://'.length);
  const rawPath = pathStart === -1 ? '' : raw.slice(pathStart);
  if (rawPath !== url.pathname) {
    return refuse('the object key changes when the URL is normalised (. or .. segments, or characters that must be percent-encoded)');
  }
  let key: string;
  try {
    key = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    return refuse('the object key has an invalid percent-encoding');
  }
  if (key.length === 0) return refuse('an s3:// URL must name an object: s3://bucket/key');
  // Encoded dots or separators (..%2F, %2e%2e%2f) survive WHATWG parsing and decode to ../ (issue 16).
  if (hasDotSegment(key)) return refuse('the object key has . or .. segments once percent-decoded (such as ..%2F)');
  if (Buffer.byteLength(key) > 1024) return refuse('the object key is longer than 1024 bytes');
  return { ok: true, url, kind: 's3', bucket, key };
}

/** Rules for an s3://bucket/key URL alone: the S3 reader uses this so it reads what intake checked. */
export function checkS3Location(raw: string, sources: SourcePolicy): UrlCheck {
  const url = parse(raw);
  if (typeof url === 'string') return refuse(url);
  if (url.protocol !== 's3:') return refuse('not an s3://bucket/key URL');
  return checkS3Url(raw, url, sources);
}

/** Rules for a file URL: s3://bucket/key on an allowed bucket, or what callbacks may use. */
export function checkFileUrl(raw: string, policy: OutboundPolicy, sources: SourcePolicy): UrlCheck {
  const url = parse(raw);
  if (typeof url === 'string') return refuse(url);
  if (url.protocol === 's3:') return checkS3Url(raw, url, sources);
  return checkParsedHttpUrl(url, policy);
}
