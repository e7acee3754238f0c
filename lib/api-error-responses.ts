// Gateway Responses: errors API Gateway answers itself, before the intake Lambda runs
// (bad key, throttling, quota, body validation...). Each returns the same JSON envelope and
// machine codes as the handlers (lambdas/core/errors.ts). Pure data; the intake-api construct
// applies it.
//
// Gateway response templates are NOT run through VTL: only $context variables are substituted,
// so a template cannot branch (e.g. on whether a key was sent) or escape a dynamic string.
// Hence the messages are static and request_id is the only dynamic field.
import { API_ERROR_STATUS, type ApiErrorCode } from '../lambdas/core/errors';

/** API Gateway ResponseType names (values of aws-apigateway ResponseType). */
export type GatewayResponseTypeName =
  | 'INVALID_API_KEY'
  | 'THROTTLED'
  | 'QUOTA_EXCEEDED'
  | 'BAD_REQUEST_BODY'
  | 'BAD_REQUEST_PARAMETERS'
  | 'REQUEST_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'INTEGRATION_TIMEOUT'
  | 'INTEGRATION_FAILURE'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';

export interface GatewayErrorResponse {
  readonly type: GatewayResponseTypeName;
  readonly code: ApiErrorCode;
  /** Undefined keeps API Gateway's own status (the DEFAULT_* families cover several). */
  readonly statusCode: number | undefined;
  readonly message: string;
}

const response = (
  type: GatewayResponseTypeName,
  code: ApiErrorCode,
  message: string,
  statusCode: number | undefined = API_ERROR_STATUS[code],
): GatewayErrorResponse => ({ type, code, statusCode, message });

export const GATEWAY_ERROR_RESPONSES: readonly GatewayErrorResponse[] = [
  // API Gateway runs the same check for a missing and a wrong x-api-key header and answers both
  // with INVALID_API_KEY (403); it cannot tell them apart, so neither can we. missing_api_key
  // (401) is therefore never returned by the cloud stack.
  response('INVALID_API_KEY', 'invalid_api_key', 'The x-api-key header is missing or does not hold an active API key'),
  response('THROTTLED', 'rate_limited', 'Too many requests: slow down and retry after a short wait'),
  response('QUOTA_EXCEEDED', 'quota_exceeded', "This API key's monthly request quota is used up"),
  response('BAD_REQUEST_BODY', 'invalid_request', 'The request body does not match the API schema (POST /v1/jobs expects {callback_url, files[], metadata?})'),
  response('BAD_REQUEST_PARAMETERS', 'invalid_request', 'A required request parameter is missing or invalid'),
  response('REQUEST_TOO_LARGE', 'payload_too_large', 'The request body is too large'),
  response('UNSUPPORTED_MEDIA_TYPE', 'unsupported_content_type', 'Send the request body as application/json'),
  // Fires for an unknown path or method (whatever key is sent), so it is a 404, not a 403.
  response('MISSING_AUTHENTICATION_TOKEN', 'not_found', 'No route matches this method and path'),
  response('INTEGRATION_TIMEOUT', 'internal_error', 'The request timed out; retry with the same Idempotency-Key', 504),
  response('INTEGRATION_FAILURE', 'internal_error', 'The request could not be processed; retry with the same Idempotency-Key', 502),
  response('DEFAULT_4XX', 'invalid_request', 'The request was rejected', undefined),
  response('DEFAULT_5XX', 'internal_error', 'Internal error; retry later', undefined),
];

/** The envelope as a gateway response template; JSON.stringify escapes the static message. */
export function gatewayResponseTemplate(entry: GatewayErrorResponse): string {
  const placeholder = '__REQUEST_ID__';
  const body = JSON.stringify({ error: { code: entry.code, message: entry.message, request_id: placeholder } });
  return body.replace(JSON.stringify(placeholder), '"$context.requestId"');
}

/** Headers on every gateway-generated error. Values become quoted static literals, so no single quotes. */
export const SECURITY_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};
