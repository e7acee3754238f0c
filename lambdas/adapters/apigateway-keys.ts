// Adapter: ApiKeyRegistry port on Amazon API Gateway (cli/ tenants ... --aws). A tenant's key
// is an API Gateway API key attached to the stack's usage plan (throttle and quota per key);
// disabling it makes the gateway refuse it with 403 before any Lambda runs.
// Written against the four operations it uses, which the SDK's aggregated `APIGateway` client
// provides; loadApiGatewayClient imports @aws-sdk/client-api-gateway lazily, so only the
// operator CLI needs that package (no Lambda bundles it).
import type { ApiKeyRegistry } from '../core/ports';

export interface ApiGatewayKeyOperations {
  createApiKey(input: {
    name: string;
    description?: string;
    enabled: boolean;
    tags?: Record<string, string>;
  }): Promise<{ id?: string; value?: string }>;
  createUsagePlanKey(input: { usagePlanId: string; keyId: string; keyType: 'API_KEY' }): Promise<unknown>;
  updateApiKey(input: { apiKey: string; patchOperations: { op: 'replace'; path: string; value: string }[] }): Promise<unknown>;
  deleteApiKey(input: { apiKey: string }): Promise<unknown>;
}

export function createApiGatewayKeys(api: ApiGatewayKeyOperations, options: { readonly usagePlanId: string }): ApiKeyRegistry {
  return {
    async createKey(name) {
      const created = await api.createApiKey({
        name,
        description: 'Metahook tenant API key',
        enabled: true,
        tags: { 'metahook:purpose': 'tenant-api-key' },
      });
      if (!created.id || !created.value) throw new Error('API Gateway created a key without returning its id and value');
      try {
        await api.createUsagePlanKey({ usagePlanId: options.usagePlanId, keyId: created.id, keyType: 'API_KEY' });
      } catch (error) {
        // A key outside the usage plan is useless (every method needs the plan): do not leave it behind.
        await api.deleteApiKey({ apiKey: created.id }).catch(() => undefined);
        throw error;
      }
      return { id: created.id, value: created.value };
    },
    async setEnabled(id, enabled) {
      await api.updateApiKey({ apiKey: id, patchOperations: [{ op: 'replace', path: '/enabled', value: String(enabled) }] });
    },
  };
}

export class MissingSdkPackageError extends Error {
  override readonly name = 'MissingSdkPackageError';
}

/** Imports an AWS SDK package that is installed for the operator CLI only; a clear error when it is not. */
export async function importOptionalSdk(packageName: string): Promise<any> {
  try {
    // A variable specifier keeps the type checker (and bundlers) from resolving it ahead of time.
    const specifier: string = packageName;
    return await import(specifier);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new MissingSdkPackageError(`${packageName} is not installed; run: npm install --save-dev ${packageName}`, { cause: error });
    }
    throw error;
  }
}

export async function loadApiGatewayClient(config: { readonly region?: string } = {}): Promise<ApiGatewayKeyOperations> {
  const { APIGateway } = await importOptionalSdk('@aws-sdk/client-api-gateway');
  return new APIGateway(config.region ? { region: config.region } : {}) as ApiGatewayKeyOperations;
}
