// Adapter: tenant records on DynamoDB. Reads (TenantDirectory port) for the handlers,
// writes (TenantWriter) for the tenant commands. Only the API Gateway key's id is stored,
// never the key itself; signing secrets are stored sealed (lambdas/core/secret-custody.ts) and
// opened only by a directory given a sealer (the callback's).
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretSealer, TenantDirectory, TenantWriter } from '../../core/ports';
import type { StoredSigningSecret, TenantRecord } from '../../core/records';
import { isValidAt, openStoredSecrets } from '../../core/secret-custody';
import { conditionally, keys, stripStorage } from './keys';
import { batchGetAll } from './table-io';

interface StoredTenant extends TenantRecord {
  readonly signing_secrets: StoredSigningSecret[];
  /** Compare-and-set counter of signing_secrets; absent until the first replace. */
  readonly secrets_version?: number;
}

export class NoSecretSealerError extends Error {
  override readonly name = 'NoSecretSealerError';
}

const publicTenant = (stored: StoredTenant): TenantRecord => {
  const { signing_secrets: _secrets, secrets_version: _version, ...tenant } = stored;
  return tenant;
};

export function createDynamoTenantDirectory(
  db: DynamoDBDocumentClient,
  options: {
    readonly tableName: string;
    /** Opens sealed signing secrets in getSigningSecrets; without it that call fails. */
    readonly sealer?: Pick<SecretSealer, 'open'>;
  },
): TenantDirectory & TenantWriter {
  const TableName = options.tableName;

  async function getStored(tenantId: string): Promise<StoredTenant | undefined> {
    const { Item } = await db.send(new GetCommand({ TableName, Key: keys.tenant(tenantId), ConsistentRead: true }));
    return Item ? stripStorage<StoredTenant>(Item) : undefined;
  }

  return {
    async findByApiKeyId(apiKeyId) {
      const { Item } = await db.send(new GetCommand({ TableName, Key: keys.apiKey(apiKeyId) }));
      if (!Item) return undefined;
      const tenant = await getStored(String(Item.tenant_id));
      return tenant ? publicTenant(tenant) : undefined;
    },

    async getTenant(tenantId) {
      const tenant = await getStored(tenantId);
      return tenant ? publicTenant(tenant) : undefined;
    },

    async getSigningSecrets(tenantId, now) {
      const tenant = await getStored(tenantId);
      if (!tenant) return [];
      const valid = tenant.signing_secrets
        .filter((secret) => isValidAt(secret, now))
        .sort((a, b) => (a.expires_at === null ? -1 : b.expires_at === null ? 1 : 0));
      if (!options.sealer) throw new NoSecretSealerError('this tenant directory has no sealer to open signing secrets with');
      return openStoredSecrets(options.sealer, tenantId, valid);
    },

    async getStoredSigningSecrets(tenantId) {
      const tenant = await getStored(tenantId);
      return tenant ? { secrets: tenant.signing_secrets, version: tenant.secrets_version ?? 0 } : undefined;
    },

    async putTenant(tenant, secrets) {
      await db.send(
        new PutCommand({
          TableName,
          Item: {
            ...keys.tenant(tenant.tenant_id),
            entity: 'tenant',
            ...tenant,
            signing_secrets: secrets,
            ...keys.tenantsIndex,
            gsi1sk: `${tenant.created_at}#${tenant.tenant_id}`,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      await db.send(
        new PutCommand({
          TableName,
          Item: { ...keys.apiKey(tenant.api_key_id), entity: 'api_key', tenant_id: tenant.tenant_id },
        }),
      );
    },

    async setStatus(tenantId, status) {
      await db.send(
        new UpdateCommand({
          TableName,
          Key: keys.tenant(tenantId),
          UpdateExpression: 'SET #status = :status',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status },
        }),
      );
    },

    replaceSecrets(tenantId, secrets, expectedVersion) {
      // Compare-and-set on a counter: a rotation and a migration cannot overwrite each other.
      const versionHolds = expectedVersion === 0 ? 'attribute_not_exists(secrets_version)' : 'secrets_version = :expected';
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.tenant(tenantId),
            UpdateExpression: 'SET signing_secrets = :secrets, secrets_version = :next',
            ConditionExpression: `attribute_exists(pk) AND ${versionHolds}`,
            ExpressionAttributeValues: {
              ':secrets': secrets,
              ':next': expectedVersion + 1,
              ...(expectedVersion === 0 ? {} : { ':expected': expectedVersion }),
            },
          }),
        ),
      );
    },

    async setMediaSources(tenantId, sources) {
      await db.send(
        new UpdateCommand({
          TableName,
          Key: keys.tenant(tenantId),
          UpdateExpression: 'SET media_sources = :sources',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':sources': sources.map(({ bucket, prefix }) => ({ bucket, prefix })) },
        }),
      );
    },

    async setMaxAudioSeconds(tenantId, seconds) {
      await db.send(
        new UpdateCommand({
          TableName,
          Key: keys.tenant(tenantId),
          UpdateExpression: seconds === undefined ? 'REMOVE max_audio_seconds' : 'SET max_audio_seconds = :seconds',
          ConditionExpression: 'attribute_exists(pk)',
          ...(seconds === undefined ? {} : { ExpressionAttributeValues: { ':seconds': seconds } }),
        }),
      );
    },

    async listTenants() {
      const tenants: TenantRecord[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName,
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :pk',
            ExpressionAttributeValues: { ':pk': keys.tenantsIndex.gsi1pk },
            ExclusiveStartKey,
          }),
        );
        // The index is KEYS_ONLY: read the tenants themselves by key.
        const items = await batchGetAll(db, TableName, (page.Items ?? []).map((item) => ({ pk: String(item.pk), sk: String(item.sk) })));
        tenants.push(...items.map((item) => publicTenant(stripStorage<StoredTenant>(item))));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return tenants.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.tenant_id.localeCompare(b.tenant_id));
    },
  };
}
