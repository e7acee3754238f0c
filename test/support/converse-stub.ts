// Test support: a local HTTP/1.1 server on 127.0.0.1 speaking the Bedrock Converse wire
// protocol (POST /model/{urlencoded modelId}/converse). Point the real BedrockRuntimeClient
// at it with AWS_ENDPOINT_URL_BEDROCK_RUNTIME (or `endpoint`) and a NodeHttpHandler.
// Replies are scripted per call; every request is recorded for assertions.
//
//   const stub = await createConverseStub({ replies: [converseReplies.throttling(), converseReplies.auto()] }).start();
//   ... stub.requests[0].modelId, stub.requests[0].body.toolConfig ...
//   await stub.stop();
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedConverseRequest {
  readonly method: string;
  /** Raw path as sent, e.g. /model/us.amazon.nova-lite-v1%3A0/converse */
  readonly path: string;
  /** Model ID decoded from the path; undefined when the path is not a Converse path. */
  readonly modelId: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON body (undefined when the body is not JSON). */
  readonly body: ConverseRequestBody | undefined;
  readonly rawBody: string;
}

/** The parts of the Converse request body tests look at (bytes arrive base64-encoded). */
export interface ConverseRequestBody {
  readonly messages?: Array<{ role: string; content: Array<Record<string, any>> }>;
  readonly system?: Array<{ text?: string }>;
  readonly toolConfig?: {
    tools?: Array<{ toolSpec?: { name: string; description?: string; inputSchema?: { json?: unknown } } }>;
    toolChoice?: Record<string, any>;
  };
  readonly inferenceConfig?: { temperature?: number; maxTokens?: number; topP?: number };
  readonly [key: string]: unknown;
}

export interface StubUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export type ConverseStubReply =
  /** The model calls a tool with `input` (valid or not: the stub does not judge). */
  | { readonly kind: 'tool'; readonly input: unknown; readonly toolName?: string; readonly usage?: StubUsage; readonly latencyMs?: number }
  /** The model answers in plain text instead of calling the tool. */
  | { readonly kind: 'text'; readonly text: string; readonly usage?: StubUsage }
  /** A schema-valid tool call for whatever media the request carries (image or audio). */
  | { readonly kind: 'auto'; readonly usage?: StubUsage }
  /** An AWS JSON error: `x-amzn-errortype: <type>` with `{"message"}`. */
  | { readonly kind: 'error'; readonly status: number; readonly type: string; readonly message?: string }
  /** Anything else, verbatim. */
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly headers?: Record<string, string> };

export type ConverseStubScript =
  | readonly ConverseStubReply[]
  | ((request: RecordedConverseRequest, callIndex: number) => ConverseStubReply);

export interface ConverseStubOptions {
  /** Replies in call order, or a function of the request. @default every call gets `auto` */
  readonly replies?: ConverseStubScript;
  /** Used once a reply list runs out. @default auto */
  readonly fallback?: ConverseStubReply;
}

export interface RunningConverseStub {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly requests: RecordedConverseRequest[];
  /** Appends replies to a list script (after the ones not yet used). */
  enqueue(...replies: ConverseStubReply[]): void;
  stop(): Promise<void>;
}

const DEFAULT_USAGE: StubUsage = { inputTokens: 1200, outputTokens: 150 };

/** Ready-made replies, including the error shapes Bedrock sends. */
export const converseReplies = {
  tool: (input: unknown, extra: { toolName?: string; usage?: StubUsage; latencyMs?: number } = {}): ConverseStubReply => ({
    kind: 'tool',
    input,
    ...extra,
  }),
  text: (text: string): ConverseStubReply => ({ kind: 'text', text }),
  auto: (usage?: StubUsage): ConverseStubReply => ({ kind: 'auto', ...(usage ? { usage } : {}) }),
  throttling: (message = 'Too many requests, please wait before trying again.'): ConverseStubReply => ({
    kind: 'error',
    status: 429,
    type: 'ThrottlingException',
    message,
  }),
  accessDenied: (message = "You don't have access to the model with the specified model ID."): ConverseStubReply => ({
    kind: 'error',
    status: 403,
    type: 'AccessDeniedException',
    message,
  }),
  validation: (message = 'The provided request is not valid'): ConverseStubReply => ({
    kind: 'error',
    status: 400,
    type: 'ValidationException',
    message,
  }),
  serverError: (message = 'The server encountered an internal error.'): ConverseStubReply => ({
    kind: 'error',
    status: 500,
    type: 'InternalServerException',
    message,
  }),
  serviceUnavailable: (message = 'Service is temporarily unavailable.'): ConverseStubReply => ({
    kind: 'error',
    status: 503,
    type: 'ServiceUnavailableException',
    message,
  }),
};

/** The media kind a recorded request carries, from its first image/audio block. */
export function mediaKindOf(request: RecordedConverseRequest): 'image' | 'audio' | undefined {
  for (const message of request.body?.messages ?? []) {
    for (const block of message.content ?? []) {
      if (block.image) return 'image';
      if (block.audio) return 'audio';
    }
  }
  return undefined;
}

/** Schema-valid metadata for the media kind, so end-to-end tests get a completed job. */
function autoInput(request: RecordedConverseRequest): Record<string, unknown> {
  const common = {
    description: 'A stubbed description produced by the local Converse stub.',
    keywords: ['Stub', 'metahook', 'stub', 'Test Fixture'],
  };
  return mediaKindOf(request) === 'audio'
    ? { ...common, summary: 'A stubbed summary of the recording.' }
    : { ...common, caption: 'A stubbed caption.' };
}

function toolNameOf(request: RecordedConverseRequest): string {
  return request.body?.toolConfig?.tools?.[0]?.toolSpec?.name ?? 'record_metadata';
}

function converseBody(content: unknown[], stopReason: string, usage: StubUsage, latencyMs: number): string {
  return JSON.stringify({
    output: { message: { role: 'assistant', content } },
    stopReason,
    usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
    metrics: { latencyMs },
  });
}

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': `stub-${Date.now()}`,
    ...headers,
  });
  response.end(body);
}

function answer(response: ServerResponse, reply: ConverseStubReply, request: RecordedConverseRequest, call: number): void {
  switch (reply.kind) {
    case 'tool':
    case 'auto': {
      const input = reply.kind === 'tool' ? reply.input : autoInput(request);
      const name = (reply.kind === 'tool' ? reply.toolName : undefined) ?? toolNameOf(request);
      const latency = reply.kind === 'tool' ? (reply.latencyMs ?? 25) : 25;
      const toolUse = { toolUse: { toolUseId: `tooluse_stub_${call}`, name, input } };
      send(response, 200, converseBody([toolUse], 'tool_use', reply.usage ?? DEFAULT_USAGE, latency));
      return;
    }
    case 'text':
      send(response, 200, converseBody([{ text: reply.text }], 'end_turn', reply.usage ?? DEFAULT_USAGE, 20));
      return;
    case 'error':
      send(response, reply.status, JSON.stringify({ message: reply.message ?? reply.type }), {
        'x-amzn-errortype': `${reply.type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      });
      return;
    case 'raw':
      send(response, reply.status, reply.body, reply.headers);
      return;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const CONVERSE_PATH = /^\/model\/([^/]+)\/converse$/;

export function createConverseStub(options: ConverseStubOptions = {}): { start(): Promise<RunningConverseStub> } {
  return {
    async start() {
      const requests: RecordedConverseRequest[] = [];
      const queue: ConverseStubReply[] = Array.isArray(options.replies) ? [...(options.replies as ConverseStubReply[])] : [];
      const script = typeof options.replies === 'function' ? options.replies : undefined;
      const fallback = options.fallback ?? converseReplies.auto();

      const server = createServer(async (incoming, response) => {
        try {
          const rawBody = await readBody(incoming);
          const path = incoming.url ?? '';
          const match = CONVERSE_PATH.exec(path.split('?')[0] ?? '');
          let body: ConverseRequestBody | undefined;
          try {
            body = JSON.parse(rawBody) as ConverseRequestBody;
          } catch {
            body = undefined;
          }
          const recorded: RecordedConverseRequest = {
            method: incoming.method ?? '',
            path,
            modelId: match?.[1] ? decodeURIComponent(match[1]) : undefined,
            headers: { ...incoming.headers },
            body,
            rawBody,
          };
          const call = requests.length;
          requests.push(recorded);
          if (incoming.method !== 'POST' || !match) {
            answer(response, { kind: 'error', status: 404, type: 'UnknownOperationException', message: `no route for ${path}` }, recorded, call);
            return;
          }
          const reply = script ? script(recorded, call) : (queue.shift() ?? fallback);
          answer(response, reply, recorded, call);
        } catch (error) {
          send(response, 500, JSON.stringify({ message: String(error) }), { 'x-amzn-errortype': 'InternalServerException' });
        }
      });

      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;

      return {
        endpoint: `http://127.0.0.1:${port}`,
        requests,
        enqueue: (...replies) => {
          queue.push(...replies);
        },
        stop: async () => {
          // The client keeps connections alive; close them or close() waits for their timeout.
          server.closeAllConnections();
          await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
        },
      };
    },
  };
}

/** Shorthand for `createConverseStub(options).start()`. */
export const startConverseStub = (options: ConverseStubOptions = {}): Promise<RunningConverseStub> =>
  createConverseStub(options).start();
