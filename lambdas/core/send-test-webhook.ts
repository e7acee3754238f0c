// Use case: jobs-api handler (POST /v1/webhooks/test) -> sendTestWebhook -> (TenantDirectory, WebhookSender).
// Sends one signed `webhook.test` event to a URL the caller names, through the same SSRF-guarded
// sender, URL policy and Standard Webhooks signing the callback uses, and answers with the
// attempt itself (status, latency, first bytes of the body, error class). Nothing is queued,
// retried or stored: it is a probe for setting up a receiver.
import { randomUUID } from 'node:crypto';
import type { Settings } from '../../lib/settings';
import type { OutboundPolicy } from '../runtime-config';
import { webhookTestRequestSchema, type webhookTestResponseSchema } from './api-schemas';
import { checkCallbackHeaders } from './callback-headers';
import { ApiError } from './errors';
import type { TenantDirectory, WebhookSender } from './ports';
import { formatPath } from './submit-jobs';
import { checkCallbackUrl } from './url-policy';
import { signWebhook } from './webhook-signature';
import type { Infer } from './zod';

export interface SendTestWebhookDeps {
  readonly tenants: Pick<TenantDirectory, 'getSigningSecrets'>;
  readonly sender: WebhookSender;
  readonly outbound: OutboundPolicy;
  readonly settings: Settings;
  readonly now: () => Date;
  /** @default a random id */
  readonly newEventId?: () => string;
}

export type WebhookTestResult = Infer<typeof webhookTestResponseSchema>;

export const TEST_EVENT_MESSAGE = 'Test event from Metahook: verify its signature and answer with a 2xx status.';

export async function sendTestWebhook(deps: SendTestWebhookDeps, tenantId: string, body: unknown): Promise<WebhookTestResult> {
  const parsed = webhookTestRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new ApiError(
      'invalid_request',
      'The request body does not match the API contract.',
      parsed.error.issues.slice(0, 20).map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  const request = parsed.data;
  const callback = checkCallbackUrl(request.callback_url, deps.outbound);
  if (!callback.ok) {
    throw new ApiError('callback_url_forbidden', `callback_url is not allowed: ${callback.reason}`, [
      { path: 'callback_url', message: callback.reason },
    ]);
  }
  const receiverHeaders = checkCallbackHeaders(request.callback_headers) ?? {};

  const startedAt = deps.now();
  const event = {
    type: 'webhook.test' as const,
    id: deps.newEventId?.() ?? `msg_test_${randomUUID().replaceAll('-', '')}`,
    created_at: startedAt.toISOString(),
    data: { message: TEST_EVENT_MESSAGE },
  };
  const payload = JSON.stringify(event);
  const secrets = await deps.tenants.getSigningSecrets(tenantId, startedAt);
  const response = await deps.sender.post({
    url: request.callback_url,
    headers: {
      ...receiverHeaders,
      'content-type': 'application/json',
      ...signWebhook({ id: event.id, timestamp: startedAt, body: payload, secrets: secrets.map((s) => s.secret) }),
    },
    body: payload,
    timeoutMs: deps.settings.delivery.httpTimeoutMs,
    maxResponseBytes: deps.settings.delivery.maxStoredResponseBytes,
  });
  if (response.kind === 'error') {
    return {
      event_id: event.id,
      event_type: event.type,
      delivered: false,
      http_status: null,
      latency_ms: Math.round(response.durationMs),
      response_body: null,
      error_class: response.errorClass,
      error: response.message,
    };
  }
  const delivered = response.status >= 200 && response.status < 300;
  return {
    event_id: event.id,
    event_type: event.type,
    delivered,
    http_status: response.status,
    latency_ms: Math.round(response.durationMs),
    response_body: response.body,
    error_class: delivered ? null : `http_${response.status}`,
    error: delivered ? null : `HTTP ${response.status}`,
  };
}
