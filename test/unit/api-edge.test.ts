// Unit: what every API handler does first and last: resolve the calling tenant from the verified
// API key (core/caller-tenant.ts) and turn a thrown error into the error envelope (adapters/api-gateway.ts).
import { describe, expect, it } from 'vitest';
import { callerTenant } from '../../lambdas/core/caller-tenant';
import { ApiError } from '../../lambdas/core/errors';
import type { TenantRecord } from '../../lambdas/core/records';
import { failureResponse } from '../../lambdas/adapters/api-gateway';

const tenant = (status: TenantRecord['status']) => ({ tenant_id: 'ten_1', status }) as TenantRecord;
const directory = (byKey: Record<string, TenantRecord>) => ({ findByApiKeyId: async (id: string) => byKey[id] });

describe('callerTenant', () => {
  it('is the active tenant behind the key', async () => {
    expect(await callerTenant(directory({ key1: tenant('active') }), 'key1')).toEqual(tenant('active'));
  });

  it.each([
    ['no key id', undefined],
    ['a null key id', null],
    ['an unknown key', 'nobody'],
    ['a disabled tenant', 'off'],
  ])('refuses %s with invalid_api_key', async (_label, apiKeyId) => {
    await expect(callerTenant(directory({ off: tenant('disabled') }), apiKeyId)).rejects.toMatchObject({ code: 'invalid_api_key', status: 403 });
  });
});

describe('failureResponse', () => {
  it('answers an ApiError with its own status and envelope, without reporting it', () => {
    const reported: Error[] = [];
    const response = failureResponse(new ApiError('not_found', 'No job with this id exists for your API key.'), 'req-1', (e) => reported.push(e));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ error: { code: 'not_found', message: 'No job with this id exists for your API key.', request_id: 'req-1' } });
    expect(reported).toEqual([]);
  });

  it('reports anything else and answers 500 internal_error without its message', () => {
    const reported: Error[] = [];
    const cause = new Error('ConditionalCheckFailed on TENANT#ten_1#JOB#job_9 at table metahook-prod');
    const response = failureResponse(cause, 'req-2', (e) => reported.push(e));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body).error).toMatchObject({ code: 'internal_error', request_id: 'req-2' });
    expect(response.body).not.toContain('TENANT#');
    expect(response.headers).toMatchObject({ 'x-request-id': 'req-2', 'content-type': 'application/json' });
    expect(reported).toEqual([cause]);
  });
});
