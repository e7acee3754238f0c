// Test support: a local HTTP/1.1 server on 127.0.0.1 speaking the Bedrock Runtime wire protocol:
// Converse (POST /model/{urlencoded modelId}/converse) and InvokeModel (POST /model/{id}/invoke)
// with Mistral's chat body. Point the real BedrockRuntimeClient at it with
// AWS_ENDPOINT_URL_BEDROCK_RUNTIME (or `endpoint`) and a NodeHttpHandler.
// Replies are scripted per call; every request is recorded for assertions. Before any script
// runs, the stub answers 400 ValidationException to requests the real service or model refuses
// (see VENDOR RULES below). Those rules are written here from the vendors' sources on purpose,
// independently of lambdas/adapters/bedrock-model-traits.ts, so a wrong trait fails a test.
//
//   const stub = await createConverseStub({ replies: [converseReplies.throttling(), converseReplies.auto()] }).start();
//   ... stub.requests[0].modelId, stub.requests[0].body.toolConfig ...
//   await stub.stop();
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedConverseRequest {
  readonly method: string;
  /** Which Bedrock Runtime operation the path names. */
  readonly operation: 'converse' | 'invoke' | undefined;
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
  /** InvokeModel (Mistral chat body): max_tokens, temperature, response_format, tools. */
  readonly max_tokens?: number;
  readonly response_format?: { type?: string };
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
  /** Answer 400 to requests the vendor rules below refuse (before the script runs). @default true */
  readonly enforceVendorRules?: boolean;
  /**
   * Voxtral audio must be the normalised MP3 (mono, 16 kHz) AWS's sample requires. Turn off only
   * where a test sends audio as uploaded on purpose. @default true
   */
  readonly requireNormalisedAudio?: boolean;
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

/** The media kind a recorded request carries, from its first image/audio block (either operation). */
export function mediaKindOf(request: RecordedConverseRequest): 'image' | 'audio' | undefined {
  for (const message of request.body?.messages ?? []) {
    for (const block of Array.isArray(message.content) ? message.content : []) {
      if (block.image || block.type === 'image_url') return 'image';
      if (block.audio || block.type === 'input_audio') return 'audio';
    }
  }
  return undefined;
}

/** The instruction texts of a request (both operations), to look for a segment note or a merge call. */
export function textOf(request: RecordedConverseRequest): string {
  const parts: string[] = [];
  for (const message of request.body?.messages ?? []) {
    if (typeof message.content === 'string') parts.push(message.content);
    else for (const block of message.content ?? []) if (typeof block.text === 'string') parts.push(block.text);
  }
  return parts.join('\n');
}

// ---------- VENDOR RULES (each cites its source; do not import the production traits) ----------

const MB = 1024 * 1024;

/** Model ID without ARN and cross-region prefix: us.amazon.nova-lite-v1:0 -> amazon.nova-lite-v1:0 */
const familyId = (modelId: string) => modelId.replace(/^arn:[^/]+\//, '').replace(/^(us|eu|apac|global|jp|au|ca|us-gov)\./, '');
const isMistral = (id: string) => id.startsWith('mistral.');
const isVoxtral = (id: string) => id.startsWith('mistral.voxtral');
const isNova = (id: string) => id.startsWith('amazon.nova');
const isNova2 = (id: string) => id.startsWith('amazon.nova-2');
const isClaude = (id: string) => id.startsWith('anthropic.claude');

/**
 * Reads the first MPEG audio frame header after an optional ID3v2 tag: sample rate and channels.
 * (ISO/IEC 11172-3 / 13818-3 frame header layout.)
 */
export function mp3FrameFormat(bytes: Buffer): { sampleRate: number; channels: 1 | 2 } | undefined {
  let i = 0;
  if (bytes.subarray(0, 3).toString('latin1') === 'ID3' && bytes.length > 10) {
    i = 10 + ((bytes[6]! << 21) | (bytes[7]! << 14) | (bytes[8]! << 7) | bytes[9]!);
  }
  for (; i + 4 <= bytes.length; i++) {
    if (bytes[i] !== 0xff || (bytes[i + 1]! & 0xe0) !== 0xe0) continue;
    const version = (bytes[i + 1]! >> 3) & 0b11; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    const layer = (bytes[i + 1]! >> 1) & 0b11; // 1: Layer III
    const rateIndex = (bytes[i + 2]! >> 2) & 0b11;
    if (version === 1 || layer !== 1 || rateIndex === 3) continue;
    const base = [44_100, 48_000, 32_000][rateIndex]!;
    const sampleRate = version === 3 ? base : version === 2 ? base / 2 : base / 4;
    const channels = ((bytes[i + 3]! >> 6) & 0b11) === 0b11 ? 1 : 2;
    return { sampleRate, channels };
  }
  return undefined;
}

/** The first rule a Converse request breaks, as Bedrock's ValidationException message. */
function converseViolation(modelId: string, body: ConverseRequestBody): string | undefined {
  const id = familyId(modelId);
  const blocks = (body.messages ?? []).flatMap((message, m) => (message.content ?? []).map((block, b) => ({ block, at: `messages.${m}.member.content.${b}` })));
  // Smithy unions: a content block must set exactly one member. An SDK older than
  // @aws-sdk/client-bedrock-runtime 3.943.0 has no AudioBlock and serialises it as {} (issue 11 item 2).
  const empty = blocks.find(({ block }) => Object.keys(block).length === 0);
  if (empty) return `1 validation error detected: Value at '${empty.at}' failed to satisfy constraint: Member must have exactly one member set`;
  const hasAudio = blocks.some(({ block }) => block.audio);
  const hasImage = blocks.some(({ block }) => block.image);
  // mistral-common validation: "System messages are not yet allowed when audio is present"; Bedrock
  // passes the model's error through (LiteLLM issue 41544 / PR 39806).
  if (isMistral(id) && hasAudio && (body.system ?? []).length > 0) {
    return 'The model returned the following errors: Found system messages at indexes [0] and audio chunks in user messages are not supported together';
  }
  // ToolChoice API reference: `tool` "Only supported by Anthropic Claude 3 and Amazon Nova models".
  if (body.toolConfig?.toolChoice?.tool && !(isNova(id) || isClaude(id))) {
    return "This model doesn't support the toolConfig.toolChoice.tool field. Remove toolConfig.toolChoice.tool and try again.";
  }
  // aws-samples/mistral-on-aws re:Invent 2025 Converse notebook: Voxtral audio through Converse
  // "May not work - Converse API has limited audio support for Voxtral"; its working call is InvokeModel.
  if (isVoxtral(id) && hasAudio) return "This model doesn't support the audio content block through Converse. Use InvokeModel.";
  // Nova (v1) user guide: image, video and document inputs only; Claude takes no audio; Voxtral no images.
  if (hasAudio && !(isNova2(id) || isVoxtral(id))) return "This model doesn't support audio input.";
  if (hasImage && isVoxtral(id)) return "This model doesn't support image input.";
  for (const { block, at } of blocks) {
    if (block.image) {
      // Converse ImageBlock: png | jpeg | gif | webp; Message reference: each image at most 3.75 MB.
      if (!['png', 'jpeg', 'gif', 'webp'].includes(block.image.format)) return `Value '${block.image.format}' at '${at}.member.image.format' failed to satisfy constraint`;
      const bytes = Buffer.from(String(block.image.source?.bytes ?? ''), 'base64');
      if (bytes.byteLength > 3.75 * MB) return 'Image exceeds max size of 3.75 MB.';
    }
    if (block.audio) {
      // Converse supported-features page: "Amazon S3 links for multimedia" only for Nova.
      if (block.audio.source?.s3Location && !isNova(id)) return "This model doesn't support Amazon S3 links for multimedia.";
      if (block.audio.source?.bytes !== undefined && Buffer.from(String(block.audio.source.bytes), 'base64').byteLength > 25 * MB) {
        return 'Input is too long for requested model.';
      }
    }
  }
  return undefined;
}

/** The first rule an InvokeModel request breaks (only Mistral's chat body is modelled). */
function invokeViolation(modelId: string, body: ConverseRequestBody | undefined, requireNormalised: boolean): string | undefined {
  const id = familyId(modelId);
  if (!isMistral(id)) return `the stub models InvokeModel only for Mistral's chat body, not ${modelId}`;
  if (!body || !Array.isArray(body.messages) || typeof body.max_tokens !== 'number') {
    // Mistral chat body (Bedrock Mistral model parameters; AWS's Voxtral sample): messages + max_tokens.
    return 'Malformed input request: #: required key [messages] not found, or max_tokens is not a number, please reformat your input and try again.';
  }
  if ('toolConfig' in body || 'inferenceConfig' in body || 'system' in body) {
    return 'Malformed input request: #: extraneous key [toolConfig/inferenceConfig/system] is not permitted, please reformat your input and try again.';
  }
  const parts = body.messages.flatMap((message) => (Array.isArray(message.content) ? message.content : []));
  const audio = parts.filter((part) => part.type === 'input_audio');
  // mistral-common validation: no system message when audio is present.
  if (audio.length > 0 && body.messages.some((message) => message.role === 'system')) {
    return 'The model returned the following errors: Found system messages at indexes [0] and audio chunks in user messages are not supported together';
  }
  for (const part of audio) {
    const format = part.input_audio?.format;
    // Voxtral's catalogue lists WAV and MP3; AWS's sample sends mp3.
    if (format !== 'mp3' && format !== 'wav') return `The model returned the following errors: unsupported audio format ${String(format)}`;
    if (requireNormalised) {
      // AWS's sample: "Required audio format: Mono channel (1 channel), 16kHz sample rate, MP3".
      const frame = format === 'mp3' ? mp3FrameFormat(Buffer.from(String(part.input_audio?.data ?? ''), 'base64')) : undefined;
      if (!frame || frame.channels !== 1 || frame.sampleRate !== 16_000) {
        return `The model returned the following errors: audio must be mono 16 kHz MP3 (got ${frame ? `${frame.channels} ch, ${frame.sampleRate} Hz` : format})`;
      }
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

/** Mistral's chat-completion reply to InvokeModel (`choices[0].message.content`). */
function invokeBody(modelId: string, content: string, usage: StubUsage, finishReason = 'stop'): string {
  return JSON.stringify({
    id: `stub-${Date.now()}`,
    object: 'chat.completion',
    model: modelId,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
    usage: { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens },
  });
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
  if (request.operation === 'invoke' && (reply.kind === 'tool' || reply.kind === 'auto' || reply.kind === 'text')) {
    const content = reply.kind === 'text' ? reply.text : JSON.stringify(reply.kind === 'tool' ? reply.input : autoInput(request));
    send(response, 200, invokeBody(request.modelId ?? '', content, reply.usage ?? DEFAULT_USAGE));
    return;
  }
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

const MODEL_PATH = /^\/model\/([^/]+)\/(converse|invoke)$/;

export function createConverseStub(options: ConverseStubOptions = {}): { start(): Promise<RunningConverseStub> } {
  return {
    async start() {
      const requests: RecordedConverseRequest[] = [];
      const queue: ConverseStubReply[] = Array.isArray(options.replies) ? [...(options.replies as ConverseStubReply[])] : [];
      const script = typeof options.replies === 'function' ? options.replies : undefined;
      const fallback = options.fallback ?? converseReplies.auto();
      const enforce = options.enforceVendorRules ?? true;
      const requireNormalised = options.requireNormalisedAudio ?? true;

      const server = createServer(async (incoming, response) => {
        try {
          const rawBody = await readBody(incoming);
          const path = incoming.url ?? '';
          const match = MODEL_PATH.exec(path.split('?')[0] ?? '');
          let body: ConverseRequestBody | undefined;
          try {
            body = JSON.parse(rawBody) as ConverseRequestBody;
          } catch {
            body = undefined;
          }
          const recorded: RecordedConverseRequest = {
            method: incoming.method ?? '',
            operation: match?.[2] as 'converse' | 'invoke' | undefined,
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
          if (enforce) {
            const modelId = recorded.modelId ?? '';
            const violation =
              recorded.operation === 'converse' ? converseViolation(modelId, body ?? {}) : invokeViolation(modelId, body, requireNormalised);
            if (violation) {
              answer(response, converseReplies.validation(violation), recorded, call);
              return;
            }
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
