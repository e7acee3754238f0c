// Domain rule for every API request (handler -> callerTenant -> TenantDirectory): the caller is the
// tenant whose API key API Gateway verified, and only an active tenant is served. API Gateway
// already refuses a disabled key; this also refuses a tenant disabled in the table first.
import { ApiError } from './errors';
import type { TenantDirectory } from './ports';
import type { TenantRecord } from './records';

export async function callerTenant(tenants: Pick<TenantDirectory, 'findByApiKeyId'>, apiKeyId: string | null | undefined): Promise<TenantRecord> {
  const tenant = apiKeyId ? await tenants.findByApiKeyId(apiKeyId) : undefined;
  if (!tenant || tenant.status !== 'active') throw new ApiError('invalid_api_key', 'The API key is not valid.');
  return tenant;
}
