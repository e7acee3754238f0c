// Secret custody on the local stack (same handlers and SDK clients as on AWS, KMS played by
// local/key-service.ts): what a reader of the table sees of a tenant's signing secrets, that
// nothing in the table signs a webhook the receiver accepts, that a sealed secret moved to
// another tenant opens for nobody, and the migration of tenant items from before sealing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { startHarness, type Harness } from '../support/local-harness';
import { startWebhookReceiver, type WebhookReceiver } from '../../local/webhook-receiver';
import { keys } from '../../lambdas/adapters/dynamo/keys';
import { createDynamoTenantDirectory } from '../../lambdas/adapters/dynamo/tenant-directory';
import { SEALED_PREFIX_V1 } from '../../lambdas/adapters/kms-secret-sealer';
import { generateSigningSecret } from '../../lambdas/core/webhook-signature';
import { runCliCapturing } from '../support/cli-capture';

let h: Harness;
let dataDir: string;
const extraReceivers: WebhookReceiver[] = [];

beforeAll(async () => {
  h = await startHarness();
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-custody-'));
  const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
  await writeFile(
    join(dataDir, 'local.json'),
    JSON.stringify({ endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv }),
  );
});

afterAll(async () => {
  for (const receiver of extraReceivers) await receiver.stop();
  await h?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const tenantItem = async (tenantId: string) =>
  (await h.stack.db.send(new GetCommand({ TableName: h.stack.names.table, Key: keys.tenant(tenantId) }))).Item!;

/** Every string anywhere in the items, and each `:`-separated part of it (a sealed value's pieces). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value, ...value.split(':'));
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

const cli = (...argv: string[]) => runCliCapturing(dataDir, argv);

async function deliverTo(tenantId: string, apiKey: string, receiver: WebhookReceiver, fixture = 'graphic.png') {
  // Under the submitting tenant's own media prefix (tenant-scoped media).
  const url = await h.upload(fixture, `custody/${Math.random().toString(36).slice(2)}.png`, tenantId);
  const response = await fetch(`${h.stack.endpoint}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ callback_url: `${receiver.url}/in`, files: [{ url }] }),
  });
  expect(response.status).toBe(202);
  const jobId = ((await response.json()) as any).jobs[0].job_id as string;
  const [webhook] = (await receiver.waitFor((all) => all.some((r) => r.payload?.data?.job_id === jobId), 30_000)).filter(
    (r) => r.payload?.data?.job_id === jobId,
  );
  return webhook!;
}

describe('what a reader of the table sees', () => {
  it('the tenant item holds the signing secret sealed only: no whsec_, no spelling of the secret', async () => {
    const item = await tenantItem(h.stack.tenantId);
    const text = JSON.stringify(item);
    const body = h.stack.signingSecret.slice('whsec_'.length);
    const raw = Buffer.from(body, 'base64');
    for (const spelling of ['whsec_', body, raw.toString('hex'), raw.toString('base64url')]) {
      expect(text.includes(spelling), `tenant item contains a spelling of the secret (${spelling.slice(0, 6)}...)`).toBe(false);
    }
    expect(item.signing_secrets).toEqual([{ sealed: expect.stringMatching(/^metahook:sealed:v1:/), expires_at: null }]);
  });

  it('nothing in the table signs a webhook the receiver accepts; the callback still signs correctly', async () => {
    // The real secret is delivered through KMS: the receiver (official standardwebhooks) accepts it.
    const delivered = await deliverTo(h.stack.tenantId, h.stack.apiKey, h.receiver);
    expect(delivered.signatureValid).toBe(true);

    const receiver = new Webhook(h.stack.signingSecret);
    const payload = JSON.stringify({ type: 'job.completed', data: { forged: true } });
    const headers = (signature: string) => ({ 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': signature });
    /** The candidate as a Standard Webhooks secret (whsec_ or base64 key) and as raw key bytes. */
    const signaturesFrom = (candidate: string): string[] =>
      [candidate, Buffer.from(candidate).toString('base64')].flatMap((secret) => {
        try {
          return [new Webhook(secret).sign('msg_forged', new Date(), payload)];
        } catch {
          return [];
        }
      });
    const accepts = (candidate: string): boolean => {
      const signatures = signaturesFrom(candidate);
      if (signatures.length === 0) return false;
      try {
        receiver.verify(payload, headers(signatures.join(' ')));
        return true;
      } catch {
        return false;
      }
    };
    // Control: the check is able to say yes.
    expect(accepts(h.stack.signingSecret)).toBe(true);
    const candidates = [...new Set(strings(await h.scanTable()))];
    expect(candidates.length).toBeGreaterThan(50);
    expect(candidates.filter(accepts)).toEqual([]);
  });
});

describe('a sealed secret is bound to its tenant', () => {
  it("copied into another tenant's item it opens for nobody, so the callback cannot be made to sign with it", async () => {
    const other = await h.stack.createTenant('Copy target');
    const victim = await tenantItem(h.stack.tenantId);
    await h.stack.db.send(
      new UpdateCommand({
        TableName: h.stack.names.table,
        Key: keys.tenant(other.tenant.tenant_id),
        UpdateExpression: 'SET signing_secrets = :copied',
        ExpressionAttributeValues: { ':copied': victim.signing_secrets },
      }),
    );
    // The callback's own wiring (KMS sealer, caches) as the deployed handler builds it.
    const { buildCallbackDeps } = await import('../../lambdas/callback/wiring');
    const { deps } = buildCallbackDeps(process.env);
    await expect(deps.tenants.getSigningSecrets(other.tenant.tenant_id, new Date())).rejects.toMatchObject({
      name: 'SecretSealingError',
      code: 'sealed_value_rejected',
    });
    expect((await deps.tenants.getSigningSecrets(h.stack.tenantId, new Date())).map((s) => s.secret)).toEqual([h.stack.signingSecret]);
  });

  it('only a directory given a sealer opens secrets (the other handlers hold none)', async () => {
    const withoutSealer = createDynamoTenantDirectory(h.stack.db, { tableName: h.stack.names.table });
    await expect(withoutSealer.getSigningSecrets(h.stack.tenantId, new Date())).rejects.toMatchObject({ name: 'NoSecretSealerError' });
  });
});

describe('migration of tenants from before sealing (tenants seal-secrets)', () => {
  it('signs with a plaintext item during the window, seals it idempotently, and keeps both secrets working', async () => {
    const legacy = await h.stack.createTenant('Before sealing');
    const current = generateSigningSecret();
    const previous = generateSigningSecret();
    const overlapEnds = new Date(Date.now() + 3_600_000).toISOString();
    // The item as the code before sealing wrote it.
    await h.stack.db.send(
      new UpdateCommand({
        TableName: h.stack.names.table,
        Key: keys.tenant(legacy.tenant.tenant_id),
        UpdateExpression: 'SET signing_secrets = :plain',
        ExpressionAttributeValues: { ':plain': [{ secret: current, expires_at: null }, { secret: previous, expires_at: overlapEnds }] },
      }),
    );

    // Migration window: the callback signs with the plaintext entries as they are.
    const onCurrent = await startWebhookReceiver(current);
    extraReceivers.push(onCurrent);
    expect((await deliverTo(legacy.tenant.tenant_id, legacy.apiKey, onCurrent)).signatureValid).toBe(true);

    const check = await cli('tenants', 'seal-secrets', '--check', '--format', 'json');
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout)).toMatchObject({ check: true, tenantsSealed: 1, secretsSealed: 2, tenantsSkipped: [] });
    expect(JSON.stringify(await tenantItem(legacy.tenant.tenant_id))).toContain('whsec_');

    const run = await cli('tenants', 'seal-secrets');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/1 sealed: 2 secret\(s\)/);
    const item = await tenantItem(legacy.tenant.tenant_id);
    expect(JSON.stringify(item)).not.toContain('whsec_');
    expect(item.signing_secrets).toEqual([
      { sealed: expect.stringMatching(new RegExp(`^${SEALED_PREFIX_V1}`)), expires_at: null },
      { sealed: expect.stringMatching(new RegExp(`^${SEALED_PREFIX_V1}`)), expires_at: overlapEnds },
    ]);
    // Opened with the stack's key they are the same two secrets, newest first.
    const opener = createDynamoTenantDirectory(h.stack.db, { tableName: h.stack.names.table, sealer: h.stack.sealer });
    expect((await opener.getSigningSecrets(legacy.tenant.tenant_id, new Date())).map((s) => s.secret)).toEqual([current, previous]);

    // Idempotent: a second run seals nothing and changes nothing; the check now passes.
    const again = await cli('tenants', 'seal-secrets', '--format', 'json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ tenantsSealed: 0, secretsSealed: 0 });
    expect(await tenantItem(legacy.tenant.tenant_id)).toEqual(item);
    expect((await cli('tenants', 'seal-secrets', '--check')).code).toBe(0);

    // Rotation after migration: the sealed previous secret is carried over unopened and still signs.
    const rotated = await cli('tenants', 'rotate-secret', '--tenant', legacy.tenant.tenant_id, '--format', 'json');
    expect(rotated.code).toBe(0);
    const secrets = (await opener.getSigningSecrets(legacy.tenant.tenant_id, new Date())).map((s) => s.secret);
    expect(secrets).toEqual([JSON.parse(rotated.stdout).signing_secret, current]);
    expect(JSON.stringify(await tenantItem(legacy.tenant.tenant_id))).not.toContain('whsec_');
  }, 90_000);
});
