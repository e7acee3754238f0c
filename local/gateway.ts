// Local stack: an HTTP server on 127.0.0.1 that plays API Gateway's part. It enforces
// x-api-key against the local key store, throttles like a usage plan, caps the body,
// builds the same REST proxy event API Gateway sends, and invokes the real handlers. Like the
// cloud stack's WAF rule (lib/payload-limit.ts) it refuses a Content-Length too large for a
// Lambda invoke before anything else, and like Lambda it refuses an event over 6 MB.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ApiError, type ApiErrorCode } from '../lambdas/core/errors';
import { errorResponse, SECURITY_HEADERS } from '../lambdas/adapters/api-gateway';
import { fakeLambdaContext } from './lambda-context';
import { InvocationTimeout, invokeWithTimeout } from './invocation-scope';
import {
  API_GATEWAY_BODY_BYTES,
  CONTENT_LENGTH_OVER_LIMIT_REGEX,
  LAMBDA_SYNC_PAYLOAD_BYTES,
  PAYLOAD_TOO_LARGE_BODY,
  PAYLOAD_TOO_LARGE_STATUS,
} from '../lib/payload-limit';
import type { LocalApiKeys } from './api-key-registry';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface Route {
  readonly method: string;
  /** API Gateway resource path under the stage, e.g. /jobs/{job_id} (called as /v1/jobs/{job_id}). */
  readonly resource: string;
  readonly functionName: string;
  readonly handler: ProxyHandler;
  /** Routes without a key (the local-only /openapi.json). */
  readonly public?: boolean;
}

export interface GatewayOptions {
  readonly port: number;
  readonly stage: string;
  readonly routes: readonly Route[];
  readonly apiKeys: LocalApiKeys;
  /** API Gateway's own payload limit is 10 MB; the handler enforces the product's smaller cap. */
  readonly maxPayloadBytes?: number;
  /** Usage-plan throttle per API key (token bucket). */
  readonly throttle?: { readonly ratePerSecond: number; readonly burst: number };
  /** API Gateway's integration timeout (29 s); an intake still running then gets a 504. */
  readonly integrationTimeoutMs?: number;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

interface Match {
  readonly route: Route;
  readonly pathParameters: Record<string, string> | null;
}

function matchRoute(
  routes: readonly Route[],
  method: string,
  fullPath: string,
  stage: string,
): (Match & { path: string }) | 'method_not_allowed' | undefined {
  // API Gateway serves a stage under /{stage}; resources are defined below it.
  const stagePrefix = `/${stage}`;
  const stagePath = fullPath.startsWith(`${stagePrefix}/`) ? fullPath.slice(stagePrefix.length) : undefined;
  let pathMatched = false;
  for (const route of routes) {
    const path = route.public ? fullPath : stagePath;
    if (path === undefined) continue;
    const segments = path.split('/').filter(Boolean);
    const template = route.resource.split('/').filter(Boolean);
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const same = template.every((part, i) => {
      const segment = segments[i]!;
      if (part.startsWith('{') && part.endsWith('}')) {
        params[part.slice(1, -1)] = decodeURIComponent(segment);
        return true;
      }
      return part === segment;
    });
    if (!same) continue;
    pathMatched = true;
    if (route.method === method) {
      return { route, path, pathParameters: Object.keys(params).length > 0 ? params : null };
    }
  }
  return pathMatched ? 'method_not_allowed' : undefined;
}

function send(res: ServerResponse, result: APIGatewayProxyResult): void {
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
  res.writeHead(result.statusCode, { ...SECURITY_HEADERS, ...(result.headers as Record<string, string> | undefined) });
  res.end(body);
}

const gatewayError = (code: ApiErrorCode, message: string, requestId: string) =>
  errorResponse(new ApiError(code, message), requestId);

/** The envelope for a request Node could not parse: written raw, as there is no ServerResponse. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [code, message]: [ApiErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['request_headers_too_large', 'The request headers are too large.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['request_timeout', 'The request was not received in time.']
        : ['invalid_request', 'The request is not valid HTTP.'];
  const result = gatewayError(code, message, randomUUID());
  const body = Buffer.from(result.body);
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...(result.headers as Record<string, string> | undefined),
    'content-length': String(body.byteLength),
    connection: 'close',
  };
  const head = [`HTTP/1.1 ${result.statusCode} ${STATUS_CODES[result.statusCode] ?? 'Error'}`]
    .concat(Object.entries(headers).map(([name, value]) => `${name}: ${value}`))
    .join('\r\n');
  socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tokenBucket(ratePerSecond: number, burst: number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (key: string): boolean => {
    const now = Date.now();
    const bucket = buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const maxPayload = options.maxPayloadBytes ?? API_GATEWAY_BODY_BYTES;
  const contentLengthOverLimit = new RegExp(CONTENT_LENGTH_OVER_LIMIT_REGEX);
  const payloadTooLarge = (res: ServerResponse, requestId: string) => {
    res.setHeader('connection', 'close');
    send(res, gatewayError('payload_too_large', 'The request body is too large.', requestId));
  };
  const allow = options.throttle ? tokenBucket(options.throttle.ratePerSecond, options.throttle.burst) : () => true;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    // The WAF rule runs before API Gateway (routing, keys): same order here, same static body.
    const declaredLength = req.headers['content-length'];
    if (typeof declaredLength === 'string' && contentLengthOverLimit.test(declaredLength)) {
      res.setHeader('connection', 'close');
      res.writeHead(PAYLOAD_TOO_LARGE_STATUS, { ...SECURITY_HEADERS, 'content-type': 'application/json' });
      res.end(PAYLOAD_TOO_LARGE_BODY);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const match = matchRoute(options.routes, method, url.pathname, options.stage);
    if (match === undefined) return send(res, gatewayError('not_found', 'No route matches this method and path.', requestId));
    if (match === 'method_not_allowed') {
      return send(res, gatewayError('method_not_allowed', `${method} is not allowed on this path.`, requestId));
    }

    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      const value = req.rawHeaders[i + 1]!;
      headers[name] = value;
      (multiValueHeaders[name] ??= []).push(value);
    }

    let apiKey: { value: string; id: string } | undefined;
    if (!match.route.public) {
      const presented = req.headers['x-api-key'];
      if (typeof presented !== 'string' || presented === '') {
        return send(res, gatewayError('missing_api_key', 'Send your API key in the x-api-key header.', requestId));
      }
      const known = await options.apiKeys.resolve(presented);
      if (!known || !known.enabled) {
        return send(res, gatewayError('invalid_api_key', 'The API key is not valid.', requestId));
      }
      if (!allow(known.id)) {
        return send(res, gatewayError('rate_limited', 'Too many requests: slow down and retry after a short wait.', requestId));
      }
      apiKey = { value: presented, id: known.id };
    }

    const body = await readBody(req, maxPayload);
    if (body === 'too_large') return payloadTooLarge(res, requestId);
    const query = [...url.searchParams.keys()];
    const event: APIGatewayProxyEvent = {
      resource: match.route.resource,
      path: match.path,
      httpMethod: method,
      headers,
      multiValueHeaders,
      queryStringParameters: query.length > 0 ? Object.fromEntries(url.searchParams) : null,
      multiValueQueryStringParameters:
        query.length > 0 ? Object.fromEntries(query.map((key) => [key, url.searchParams.getAll(key)])) : null,
      pathParameters: match.pathParameters,
      stageVariables: null,
      body: body.length > 0 ? body.toString('utf8') : null,
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        authorizer: null,
        protocol: 'HTTP/1.1',
        httpMethod: method,
        path: `/${options.stage}${url.pathname}`,
        stage: options.stage,
        requestId,
        requestTimeEpoch: Date.now(),
        resourceId: 'local',
        resourcePath: match.route.resource,
        identity: {
          apiKey: apiKey?.value ?? null,
          apiKeyId: apiKey?.id ?? null,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: req.headers['user-agent'] ?? null,
          accessKey: null,
          accountId: null,
          caller: null,
          clientCert: null,
          cognitoAuthenticationProvider: null,
          cognitoAuthenticationType: null,
          cognitoIdentityId: null,
          cognitoIdentityPoolId: null,
          principalOrgId: null,
          user: null,
          userArn: null,
        },
      },
    };
    // Lambda refuses a synchronous payload over 6 MB (RequestEntityTooLargeException); a body
    // without Content-Length (chunked) is not seen by the WAF rule and can get this far.
    if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_SYNC_PAYLOAD_BYTES) return payloadTooLarge(res, requestId);
    try {
      // API Gateway (tracing on) continues a caller's X-Amzn-Trace-Id or starts a trace.
      const traceHeader = req.headers['x-amzn-trace-id'];
      const scope = { functionName: match.route.functionName, requestId, traceHeader: typeof traceHeader === 'string' ? traceHeader : undefined };
      const timeoutMs = options.integrationTimeoutMs ?? 29_000;
      send(
        res,
        await invokeWithTimeout(scope, timeoutMs, () =>
          match.route.handler(event, fakeLambdaContext(match.route.functionName, requestId, timeoutMs)),
        ),
      );
    } catch (error) {
      if (error instanceof InvocationTimeout) {
        // API Gateway's answer when the integration outlives its 29 s timeout.
        send(res, { ...gatewayError('internal_error', 'Endpoint request timed out; retry it.', requestId), statusCode: 504 });
        return;
      }
      // What API Gateway does when the integration throws: a 502 with no internals.
      send(res, { ...gatewayError('internal_error', 'The request could not be processed.', requestId), statusCode: 502 });
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, gatewayError('internal_error', 'The request could not be processed.', randomUUID()));
      else res.destroy();
    });
  });
  // Errors Node's HTTP parser answers itself (431 for oversized headers, 400 for a garbage
  // request line, 408 for a slow client) would go out without the envelope: answer them here.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
