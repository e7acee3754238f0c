// Test support: boots the embedded local stack in memory and drives it over HTTP, as an
// integrator would. Each integration test file gets its own stack (vitest runs files in
// separate processes, so handler configuration does not leak between files).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { withDeliverySummary } from '../../lambdas/adapters/dynamo/item-records';
import { keys } from '../../lambdas/adapters/dynamo/keys';
import { tenantMediaPrefix } from '../../lambdas/core/media-scope';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';
import { startWebhookReceiver, type WebhookReceiver } from '../../local/webhook-receiver';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

export interface Harness {
  readonly stack: LocalStack;
  readonly receiver: WebhookReceiver;
  submit(body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers }>;
  submitRaw(body: string, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers }>;
  /** Stages a fixture under the tenant's own prefix (tenants/<id>/<key>) and returns its s3:// URL. */
  upload(fixture: string, key?: string, tenantId?: string): Promise<string>;
  job(jobId: string, tenantId?: string): Promise<Record<string, any> | undefined>;
  attempts(jobId: string, tenantId?: string): Promise<Record<string, any>[]>;
  /** Every item of the table, as a reader of the whole table (auditor, backup) sees it. */
  scanTable(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startHarness(options: LocalStackOptions = {}): Promise<Harness> {
  const stack = await startLocalStack({
    pollWaitSeconds: 1,
    ...options,
    env: { POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT', ...options.env },
  });
  const receiver = await startWebhookReceiver(stack.signingSecret);
  const submitRaw = async (body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${stack.endpoint}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey, ...headers },
      body,
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, json, headers: response.headers };
  };
  return {
    stack,
    receiver,
    submitRaw,
    submit: (body, headers) => submitRaw(JSON.stringify(body), headers),
    async upload(fixture, key = fixture, tenantId = stack.tenantId) {
      const objectKey = `${tenantMediaPrefix(tenantId)}${key}`;
      await stack.s3.send(
        new PutObjectCommand({ Bucket: stack.names.mediaBucket, Key: objectKey, Body: await readFile(join(FIXTURES, fixture)) }),
      );
      return `s3://${stack.names.mediaBucket}/${objectKey}`;
    },
    async job(jobId, tenantId = stack.tenantId) {
      // The job and its delivery summary item (sk DELIVERY, docs/data-model.md), shown together as the API does.
      const read = async (Key: Record<string, string>) => (await stack.db.send(new GetCommand({ TableName: stack.names.table, Key }))).Item;
      const [jobItem, deliveryItem] = await Promise.all([read(keys.job(tenantId, jobId)), read(keys.jobDelivery(tenantId, jobId))]);
      const Item = jobItem ? withDeliverySummary(jobItem, deliveryItem) : undefined;
      // Metadata is stored once, on the batch item (docs/data-model.md): show it on the job as the API does.
      if (Item?.metadata_in_batch === true) {
        const { Item: batch } = await stack.db.send(
          new GetCommand({ TableName: stack.names.table, Key: { pk: `TENANT#${tenantId}#BATCH#${Item.batch_id}`, sk: 'BATCH' } }),
        );
        return { ...Item, metadata: batch?.metadata ?? null };
      }
      return Item;
    },
    async attempts(jobId, tenantId = stack.tenantId) {
      const { Items } = await stack.db.send(
        new QueryCommand({
          TableName: stack.names.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :attempt)',
          ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}#JOB#${jobId}`, ':attempt': 'ATTEMPT#' },
        }),
      );
      return Items ?? [];
    },
    async scanTable() {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await stack.db.send(new ScanCommand({ TableName: stack.names.table, ExclusiveStartKey }));
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    },
    async stop() {
      await receiver.stop();
      await stack.stop();
    },
  };
}
