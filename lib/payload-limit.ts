// Request-size guard in front of the Lambda integrations, as data shared by the CDK construct
// (a WAF rule on the v1 stage) and the local gateway (local/gateway.ts), so both answer a body
// too large for Lambda with 413 payload_too_large instead of a 5xx that tells the caller to retry.
//
// Why: API Gateway REST accepts bodies up to 10 MB (not configurable: API Gateway Developer
// Guide, "Amazon API Gateway quotas", limits.html), but a synchronous Lambda invoke takes at most
// 6 MB of payload, and the payload is the whole proxy event, not only the body (Lambda Developer
// Guide, "Lambda quotas", gettingstarted-limits.html; Invoke API: "For synchronous invocations,
// the maximum payload size is 6 MB"). A body between the two fails at the integration. A request
// validator cannot check a size, so the check runs in AWS WAF, before API Gateway, on the
// Content-Length header (WAF custom responses take precedence over gateway responses: API Gateway
// Developer Guide, supported-gateway-response-types.html, DEFAULT_4XX note).
import { API_ERROR_STATUS } from '../lambdas/core/errors';

/** Lambda's synchronous invoke payload limit, in bytes (6 MiB). */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** API Gateway REST's own body limit (10 MB). */
export const API_GATEWAY_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Bodies at or above this are refused before any Lambda runs. Below it, even a body whose every
 * byte is escaped to six characters in the proxy event (`\u0000`) plus 10 KB of headers stays
 * under LAMBDA_SYNC_PAYLOAD_BYTES; the handlers' own cap (256 KB) is far lower still.
 */
export const GATEWAY_BODY_LIMIT_BYTES = 1_000_000;

/** Matches a Content-Length of GATEWAY_BODY_LIMIT_BYTES or more: seven or more digits, leading zeros ignored. */
export const CONTENT_LENGTH_OVER_LIMIT_REGEX = '^0*[1-9][0-9]{6,}$';

export const PAYLOAD_TOO_LARGE_STATUS = API_ERROR_STATUS.payload_too_large;

export const PAYLOAD_TOO_LARGE_MESSAGE = `The request body is too large: at most ${GATEWAY_BODY_LIMIT_BYTES.toLocaleString('en-US')} bytes reach the API (POST /v1/jobs takes at most 256 KiB).`;

/**
 * The error envelope WAF sends. WAF bodies are static, so request_id cannot be the request's
 * id: it is empty (the gateway's x-amzn-requestid header is absent too; WAF logs hold the request).
 */
export const PAYLOAD_TOO_LARGE_BODY = JSON.stringify({
  error: { code: 'payload_too_large', message: PAYLOAD_TOO_LARGE_MESSAGE, request_id: '' },
});
