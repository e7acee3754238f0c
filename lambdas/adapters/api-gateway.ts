// Adapter: API Gateway REST (v1 proxy) events in, proxy results out. Every response,
// success or error, carries the security headers; errors use the one envelope and never
// echo internals or stack traces to the caller.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../core/errors';
import type { ErrorEnvelope } from '../core/api-schemas';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

export function header(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

export function jsonResponse(status: number, body: unknown, requestId: string, extra: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'application/json', 'x-request-id': requestId, ...extra },
    body: JSON.stringify(body),
  };
}

export function errorResponse(error: ApiError, requestId: string): APIGatewayProxyResult {
  const envelope: ErrorEnvelope = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
      request_id: requestId,
    },
  };
  const retryAfter: Record<string, string> =
    error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
  return jsonResponse(error.status, envelope, requestId, retryAfter);
}

/**
 * The answer to a request that threw: an ApiError as its envelope; anything else is reported (with
 * the handler's logger) and answered 500 internal_error, never with its message or stack.
 */
export function failureResponse(error: unknown, requestId: string, reportUnexpected: (error: Error) => void): APIGatewayProxyResult {
  if (error instanceof ApiError) return errorResponse(error, requestId);
  reportUnexpected(error as Error);
  return errorResponse(new ApiError('internal_error', 'Something went wrong on our side; retry the request.'), requestId);
}

/** The raw body as text, refusing anything over the cap before it is parsed. */
export function readBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers'>, maxBytes: number): string {
  const contentType = header(event, 'content-type');
  if (contentType !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim())) {
    throw new ApiError('unsupported_content_type', 'Send the request body as application/json.');
  }
  if (event.body === null || event.body === undefined || event.body === '') {
    throw new ApiError('invalid_request', 'The request body is empty; send a JSON object.');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const size = Buffer.byteLength(text);
  if (size > maxBytes) {
    throw new ApiError('payload_too_large', `The request body is ${size} bytes; the limit is ${maxBytes}.`);
  }
  return text;
}

export function parseJson(text: string): unknown {
  let protoKey = false;
  let parsed: unknown;
  try {
    // A "__proto__" key is silently dropped by every later plain-object copy (zod's included),
    // so the stored value would differ from what was sent: refuse it up front, at any depth.
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') protoKey = true;
      return value;
    });
  } catch {
    throw new ApiError('invalid_request', 'The request body is not valid JSON.');
  }
  if (protoKey) {
    throw new ApiError('invalid_request', 'The request body uses the key "__proto__", which cannot be stored; send it under another name.');
  }
  return parsed;
}
