// Test support: fast-check arbitraries for POST /v1/jobs bodies and headers. A valid body,
// then near-valid mutations of it (wrong types, huge strings, deep nesting, unicode, extra
// fields, 0 or too many files, hostile URLs, numbers where strings go). Used by the intake fuzz
// test against the local stack and by the request-model parity test.
import fc from 'fast-check';
import { EXTERNAL_ID_PATTERN, MEDIA_KINDS } from '../../lambdas/core/api-schemas';
import type { Settings } from '../../lib/settings';

export interface BodyContext {
  /** Callback URL every valid body uses. */
  readonly callbackUrl: string;
  /** File URLs valid bodies pick from (keep them few: repeats are de-duplicated, not re-run). */
  readonly fileUrls: readonly string[];
  readonly limits: Settings['api'];
}

export interface FuzzBody {
  /** What was done to the valid body, for the counterexample report. */
  readonly mutation: string;
  /** The exact request body text. */
  readonly raw: string;
}

type Body = Record<string, unknown> & { files: Record<string, unknown>[] };

const FIELD_PATHS = ['callback_url', 'files', 'files.0', 'files.0.url', 'files.0.media_type', 'files.0.external_id', 'metadata'] as const;
const STRING_PATHS = ['callback_url', 'files.0.url', 'files.0.external_id', 'files.0.media_type'] as const;

/** Hostile or malformed URLs: every one must be refused at intake (400 or 422). */
export const BAD_URLS = [
  '',
  ' ',
  'not a url',
  'https://',
  'http://example.com/a.png',
  'file:///etc/passwd',
  'gopher://127.0.0.1:70/_x',
  'ftp://example.com/a.png',
  'data:image/png;base64,iVBORw0KGgo=',
  'javascript:alert(1)',
  'https://169.254.169.254/latest/meta-data/',
  'https://[::ffff:127.0.0.1]/a.png',
  'https://2130706433/a.png',
  'https://0x7f.1/a.png',
  'https://user:pass@example.com/a.png',
  'https://example.com@127.0.0.1/a.png',
  'https://metadata.google.internal/a.png',
  'https://localhost/a.png',
  'https://intranet/a.png',
  'https://example.com:22/a.png',
  'https://exa mple.com/a.png',
  'https://example.com/a\u200b.png',
  'https://example.com\\@127.0.0.1/a.png',
  's3://',
  's3://not-allowed-bucket/a.png',
  's3://UPPER/a.png',
  's3://metahook-media/../a.png',
  's3://metahook-media/a.png?versionId=1',
  'S3://metahook-media/a.png',
  `https://example.com/${'a'.repeat(2100)}.png`,
] as const;

function setPath(body: Body, path: string, value: unknown): void {
  const parts = path.split('.');
  let target: any = body;
  for (const part of parts.slice(0, -1)) target = target[part];
  target[parts.at(-1)!] = value;
}

const clone = (body: Body): Body => JSON.parse(JSON.stringify(body));

/** Replaces the JSON string "<placeholder>" in the serialised body with raw JSON text. */
const PLACEHOLDER = '\u0000raw\u0000';
function withRaw(body: Body, path: string, rawValue: string): string {
  const copy = clone(body);
  setPath(copy, path, PLACEHOLDER);
  return JSON.stringify(copy).replace(JSON.stringify(PLACEHOLDER), rawValue);
}

const externalId = fc.stringMatching(/^[A-Za-z0-9._:@/+=-]{1,24}$/).filter((id) => EXTERNAL_ID_PATTERN.test(id));
const metadataValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null));

/** A body the intake accepts (202). */
export function validBody(ctx: BodyContext): fc.Arbitrary<Body> {
  const file = fc.record(
    {
      url: fc.constantFrom(...ctx.fileUrls),
      media_type: fc.constantFrom(...MEDIA_KINDS),
      external_id: externalId,
    },
    { requiredKeys: ['url'] },
  );
  return fc.record(
    {
      callback_url: fc.constant(ctx.callbackUrl),
      files: fc.array(file, { minLength: 1, maxLength: 3 }),
      metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), metadataValue, { maxKeys: 4 }),
    },
    { requiredKeys: ['callback_url', 'files'] },
  ) as fc.Arbitrary<Body>;
}

/** Any JSON value that is not a string (for "wrong type" mutations). */
const nonString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

/** Near-valid bodies: one mutation of a valid body each. Most are invalid; the oracle is the schema. */
export function nearValidBody(ctx: BodyContext): fc.Arbitrary<FuzzBody> {
  const { limits } = ctx;
  const base = validBody(ctx);

  const wrongType = fc
    .tuple(base, fc.constantFrom(...FIELD_PATHS), fc.oneof(nonString, fc.string({ maxLength: 12 })))
    .map(([body, path, value]) => {
      const copy = clone(body);
      setPath(copy, path, value);
      return { mutation: `wrong type at ${path}`, raw: JSON.stringify(copy) };
    });

  const numberForString = fc
    .tuple(base, fc.constantFrom(...STRING_PATHS), fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })))
    .map(([body, path, value]) => {
      const copy = clone(body);
      setPath(copy, path, value);
      return { mutation: `number at ${path}`, raw: JSON.stringify(copy) };
    });

  // Lengths around each cap, and bodies past the byte cap (413).
  const hugeString = fc
    .tuple(
      base,
      fc.constantFrom('callback_url', 'files.0.url', 'files.0.external_id', 'metadata.blob', 'unknown_field'),
      fc.oneof(
        fc.integer({ min: limits.maxExternalIdLength - 2, max: limits.maxExternalIdLength + 2 }),
        fc.integer({ min: limits.maxUrlLength - 30, max: limits.maxUrlLength + 30 }),
        fc.integer({ min: limits.maxMetadataBytes - 20, max: limits.maxMetadataBytes + 20 }),
        fc.constantFrom(limits.maxBodyBytes - 200, limits.maxBodyBytes + 1, 2 * limits.maxBodyBytes),
      ),
    )
    .map(([body, path, length]) => {
      const copy = clone(body);
      const filler = (prefix: string, suffix = '') => prefix + 'a'.repeat(Math.max(0, length - prefix.length - suffix.length)) + suffix;
      if (path === 'callback_url') copy.callback_url = filler(ctx.callbackUrl + '/');
      else if (path === 'files.0.url') copy.files[0]!.url = filler(`${ctx.fileUrls[0]!}-`);
      else if (path === 'files.0.external_id') copy.files[0]!.external_id = filler('');
      else if (path === 'metadata.blob') copy.metadata = { blob: filler('') };
      else copy[path] = filler('');
      return { mutation: `${length} characters at ${path}`, raw: JSON.stringify(copy) };
    });

  const deepNesting = fc
    .tuple(
      base,
      fc.oneof(
        { arbitrary: fc.constantFrom('metadata.deep', 'metadata'), weight: 2 },
        { arbitrary: fc.constantFrom('files.0', 'files', 'callback_url', 'unknown_field', 'files.0.external_id'), weight: 1 },
      ),
      // Around the metadata depth cap and DynamoDB's 32 levels, then deep enough to overflow a recursive walker.
      fc.oneof(
        fc.integer({ min: limits.maxMetadataDepth - 2, max: limits.maxMetadataDepth + 2 }),
        fc.constantFrom(31, 32, 33, 1_000, 20_000, 120_000),
        fc.integer({ min: 1, max: 120_000 }),
      ),
      fc.boolean(),
    )
    .map(([body, path, depth, arrays]) => {
      const inner = arrays ? '['.repeat(depth) + '1' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      const copy = clone(body);
      if (path === 'unknown_field') copy[path] = 0;
      if (path === 'metadata.deep') copy.metadata ??= {};
      return { mutation: `${arrays ? 'array' : 'object'} nesting ${depth} deep at ${path}`, raw: withRaw(copy, path, inner) };
    });

  const unicode = fc
    .tuple(
      base,
      fc.constantFrom('callback_url', 'files.0.url', 'files.0.external_id', 'metadata.key', 'metadata.value', 'unknown_key'),
      fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 })),
    )
    .map(([body, path, text]) => {
      const copy = clone(body);
      if (path === 'callback_url') copy.callback_url = `https://${text}.example/hook`;
      else if (path === 'files.0.url') copy.files[0]!.url = `${ctx.fileUrls[0]!}${text}`;
      else if (path === 'files.0.external_id') copy.files[0]!.external_id = text;
      else if (path === 'metadata.key') copy.metadata = { [text]: 1 };
      else if (path === 'metadata.value') copy.metadata = { note: text };
      else copy[text] = 1;
      return { mutation: `unicode at ${path}`, raw: JSON.stringify(copy) };
    });

  // Metadata is stored as-is: numbers at the edges of what JSON, JavaScript and DynamoDB can hold.
  const extremeMetadata = fc
    .tuple(
      base,
      fc.oneof(
        fc.double(),
        fc.constantFrom(2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e126, 1e308, -1e308, 1e-130, 1e-131, 5e-324, -0, 0.1 + 0.2),
        fc.jsonValue({ maxDepth: 3 }),
      ),
    )
    .map(([body, value]) => {
      const copy = clone(body);
      copy.metadata = { value, list: [value] };
      // JSON.stringify writes NaN and Infinity as null; write them raw so the body is what we mean.
      const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
      return { mutation: `metadata value ${text}`, raw: withRaw(copy, 'metadata.value', text) };
    });

  const extraField = fc
    .tuple(
      base,
      fc.boolean(),
      fc.string({ minLength: 0, maxLength: 12 }).filter((key) => !['callback_url', 'files', 'metadata', 'url', 'media_type', 'external_id'].includes(key)),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map(([body, inFile, key, value]) => {
      const copy = clone(body);
      if (inFile) copy.files[0]![key] = value;
      else copy[key] = value;
      return { mutation: `extra field ${JSON.stringify(key)} ${inFile ? 'in files[0]' : 'at top level'}`, raw: JSON.stringify(copy) };
    });

  const fileCount = fc
    .tuple(base, fc.constantFrom(0, limits.maxFilesPerRequest + 1, limits.maxFilesPerRequest + 7))
    .map(([body, count]) => {
      const copy = clone(body);
      copy.files = Array.from({ length: count }, (_, i) => ({ url: ctx.fileUrls[i % ctx.fileUrls.length]! }));
      return { mutation: `${count} files`, raw: JSON.stringify(copy) };
    });

  const badUrl = fc
    .tuple(base, fc.constantFrom('callback_url', 'files.0.url'), fc.oneof(fc.constantFrom(...BAD_URLS), fc.string({ maxLength: 30 })))
    .map(([body, path, url]) => {
      const copy = clone(body);
      setPath(copy, path, url);
      return { mutation: `bad URL at ${path}`, raw: JSON.stringify(copy) };
    });

  const missingField = fc
    .tuple(base, fc.constantFrom('callback_url', 'files', 'files.0.url'))
    .map(([body, path]) => {
      const copy = clone(body);
      if (path === 'files.0.url') delete copy.files[0]!.url;
      else delete copy[path];
      return { mutation: `missing ${path}`, raw: JSON.stringify(copy) };
    });

  return fc.oneof(wrongType, numberForString, hugeString, deepNesting, extremeMetadata, unicode, extraField, fileCount, badUrl, missingField);
}

/** Header values fetch can send: Latin-1 without NUL, CR or LF. */
export const headerText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09)).map((code) => String.fromCharCode(code)),
    maxLength,
  });

export const idempotencyKeyHeader = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 255 }),
  headerText(300),
  fc.constant(''),
  fc.string({ unit: fc.constant('k'), minLength: 256, maxLength: 300 }),
);

export const contentTypeHeader = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/problem+json',
    'application/vnd.metahook.v1+json',
    'application/jsonx',
    'text/plain',
    'text/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'json',
    '*/*',
  ),
  headerText(60),
);
