// Test support: a stand-in for the Amazon API Gateway management API (REST, JSON) on 127.0.0.1,
// answering the four operations the CLI's API-key adapter (lambdas/adapters/apigateway-keys.ts)
// uses, with the status codes and bodies of the API reference. Anything else is a 404, so an
// operation the adapter gains without the stand-in (and the IAM simulation) learning it fails.
// Only for the IAM simulation: it records which requests the real SDK client sent.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface ApiGatewayStandIn {
  /** For AWS_ENDPOINT_URL_API_GATEWAY. */
  readonly endpoint: string;
  readonly requests: readonly { method: string; path: string }[];
  /** The next CreateUsagePlanKey is refused with ConflictException (409): exercises the adapter's rollback (DeleteApiKey). */
  refuseNextUsagePlanKey(): void;
  stop(): Promise<void>;
}

interface StoredKey {
  id: string;
  value: string;
  name: string;
  enabled: boolean;
  createdDate: number;
  lastUpdatedDate: number;
}

export async function startApiGatewayStandIn(options: { readonly usagePlanId: string }): Promise<ApiGatewayStandIn> {
  const keys = new Map<string, StoredKey>();
  let refuseNext = false;
  const requests: { method: string; path: string }[] = [];
  const now = () => Math.floor(Date.now() / 1000);

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const method = request.method ?? 'GET';
      const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
      requests.push({ method, path });
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      const send = (status: number, json?: unknown) => {
        response.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' }).end(json === undefined ? undefined : JSON.stringify(json));
      };
      // Error shape of the REST-JSON protocol: the type in x-amzn-ErrorType, the message in the body.
      const fail = (status: number, type: string, message: string) => {
        response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ message }));
      };
      const view = (key: StoredKey) => ({ id: key.id, value: key.value, name: key.name, enabled: key.enabled, createdDate: key.createdDate, lastUpdatedDate: key.lastUpdatedDate });

      // CreateApiKey: POST /apikeys, 201 with the ApiKey (includeValue is implied on create)
      // (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html).
      if (method === 'POST' && path === '/apikeys') {
        const key: StoredKey = {
          id: randomBytes(5).toString('hex'),
          value: randomBytes(20).toString('base64url'),
          name: String(body.name ?? ''),
          enabled: body.enabled === true,
          createdDate: now(),
          lastUpdatedDate: now(),
        };
        keys.set(key.id, key);
        return send(201, view(key));
      }
      // CreateUsagePlanKey: POST /usageplans/{usageplanId}/keys, 201 with the UsagePlanKey; an
      // unknown plan or key is NotFoundException (404)
      // (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateUsagePlanKey.html).
      const planKeys = /^\/usageplans\/([^/]+)\/keys$/.exec(path);
      if (method === 'POST' && planKeys) {
        const key = keys.get(String(body.keyId));
        if (decodeURIComponent(planKeys[1]!) !== options.usagePlanId || !key) return fail(404, 'NotFoundException', 'Invalid Usage Plan ID or API Key specified');
        if (refuseNext) {
          refuseNext = false;
          return fail(409, 'ConflictException', 'Usage Plan Key already exists');
        }
        return send(201, { id: key.id, type: String(body.keyType), name: key.name, value: key.value });
      }
      const oneKey = /^\/apikeys\/([^/]+)$/.exec(path);
      const key = oneKey ? keys.get(decodeURIComponent(oneKey[1]!)) : undefined;
      if (oneKey && !key) return fail(404, 'NotFoundException', 'Invalid API Key identifier specified');
      // UpdateApiKey: PATCH /apikeys/{api_Key} with patchOperations, 200 with the ApiKey
      // (https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateApiKey.html).
      if (method === 'PATCH' && key) {
        for (const op of (body.patchOperations ?? []) as { op: string; path: string; value: string }[]) {
          if (op.op === 'replace' && op.path === '/enabled') key.enabled = op.value === 'true';
          else return fail(400, 'BadRequestException', `Invalid patch operation ${op.op} ${op.path}`);
        }
        key.lastUpdatedDate = now();
        return send(200, view(key));
      }
      // DeleteApiKey: DELETE /apikeys/{api_Key}, 202 with an empty body
      // (https://docs.aws.amazon.com/apigateway/latest/api/API_DeleteApiKey.html).
      if (method === 'DELETE' && key) {
        keys.delete(key.id);
        return send(202);
      }
      return fail(404, 'NotFoundException', `the stand-in does not implement ${method} ${path}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    refuseNextUsagePlanKey: () => void (refuseNext = true),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
