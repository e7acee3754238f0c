// The 6 MB / 10 MB gap on the local gateway: API Gateway takes bodies up to 10 MB, a Lambda invoke
// at most 6 MB of event. A body in between must get 413 payload_too_large (a client error: do not
// retry), never the 502 of a failed integration. The gateway under test is the real local server
// on 127.0.0.1 with a recording handler behind it.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { startGateway, type Gateway } from '../../local/gateway';
import type { LocalApiKeys } from '../../local/api-key-registry';
import { GATEWAY_BODY_LIMIT_BYTES, LAMBDA_SYNC_PAYLOAD_BYTES } from '../../lib/payload-limit';

let gateway: Gateway;
const invoked: APIGatewayProxyEvent[] = [];
const apiKeys = {
  resolve: async (value: string) => (value === 'good-key' ? { id: 'key_1', enabled: true } : undefined),
} as unknown as LocalApiKeys;

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    stage: 'v1',
    apiKeys,
    routes: [{
      method: 'POST',
      resource: '/jobs',
      functionName: 'recorder',
      handler: async (event) => {
        invoked.push(event);
        return { statusCode: 202, body: JSON.stringify({ bytes: Buffer.byteLength(event.body ?? '') }) };
      },
    }],
  });
});

afterAll(async () => {
  await gateway?.stop();
});

/** POSTs `size` bytes, with Content-Length or chunked; resolves with the status and parsed JSON. */
function post(size: number, options: { chunked?: boolean; apiKey?: string } = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const body = Buffer.alloc(size, 'a');
    const req = request(`${gateway.url}/v1/jobs`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': options.apiKey ?? 'good-key',
        ...(options.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(size) }),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    if (options.chunked) {
      for (let at = 0; at < size; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

describe('local gateway: bodies too large for a Lambda invoke', () => {
  it('answers 7 MB (between Lambda\'s 6 MB and API Gateway\'s 10 MB) with 413 payload_too_large without invoking', async () => {
    const before = invoked.length;
    const { status, json } = await post(7 * 1024 * 1024);
    expect(status).toBe(413);
    expect(json.error.code).toBe('payload_too_large');
    expect(invoked.length).toBe(before);
  });

  it('refuses at the same limit as the cloud WAF rule, before the API key is even looked at', async () => {
    const before = invoked.length;
    expect((await post(GATEWAY_BODY_LIMIT_BYTES, { apiKey: 'wrong' })).status).toBe(413);
    expect((await post(GATEWAY_BODY_LIMIT_BYTES - 1)).status).toBe(202);
    expect(invoked.length).toBe(before + 1);
  });

  it('refuses a chunked body (no Content-Length) whose event would exceed 6 MB, as Lambda would', async () => {
    const before = invoked.length;
    const { status, json } = await post(LAMBDA_SYNC_PAYLOAD_BYTES + 1, { chunked: true });
    expect([status, json.error.code]).toEqual([413, 'payload_too_large']);
    expect(json.error.request_id).toEqual(expect.any(String));
    expect(invoked.length).toBe(before);
    // A chunked body that fits is delivered whole.
    expect(await post(2 * 1024 * 1024, { chunked: true })).toEqual({ status: 202, json: { bytes: 2 * 1024 * 1024 } });
  });
});
