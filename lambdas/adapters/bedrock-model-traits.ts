// Adapter data (Amazon Bedrock): bedrock-provider -> bedrock-request -> bedrockModelTraits.
// The one table of what each Bedrock model family accepts, so the request builder never guesses.
// Every trait names its source. Anything no public document settles is marked UNVERIFIED and
// listed in docs/bedrock.md under "still needs an account". test/support/converse-stub.ts
// encodes the same vendor rules a second time, on purpose, without importing this file.

/** How a request reaches the model. */
export type RequestStyle = 'converse' | 'invoke';

/** Image formats a Converse ImageBlock takes (Bedrock API reference, ImageBlock.format). */
export type ConverseImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

export interface BedrockModelTraits {
  /** Row of the table that matched, for logs, tests and `metahook doctor`. */
  readonly family: string;
  /**
   * `tool` names the metadata tool; `any` forces some tool call (we define one, so the same
   * effect) where naming one is not supported.
   */
  readonly toolChoice: 'tool' | 'any';
  /** A `system` prompt may accompany an audio block. When false, the instructions go in the user turn. */
  readonly systemPromptWithAudio: boolean;
  /** The vendor body has a JSON mode (`response_format: { type: "json_object" }`) for the invoke style. */
  readonly jsonMode: boolean;
  /** Image formats the model reads; empty when it takes no images. */
  readonly imageFormats: readonly ConverseImageFormat[];
  /** Audio formats the model reads (after normalisation we always send mp3); empty when it takes no audio. */
  readonly audioFormats: readonly string[];
  /** Largest image sent inline as bytes. */
  readonly maxInlineImageBytes: number;
  /** Largest audio payload sent inline (raw bytes, before base64). */
  readonly maxInlineAudioBytes: number;
  /** The model reads media by `s3Location` (the caller's role needs s3:GetObject). */
  readonly readsS3: boolean;
  /** Longest audio one call may carry, in seconds; longer recordings are split. Undefined: no documented window. */
  readonly audioWindowSeconds: number | undefined;
  /** How audio reaches the model. Text-only and image calls always use Converse. */
  readonly audioRequestStyle: RequestStyle;
}

const MB = 1024 * 1024;

/**
 * Converse ImageBlock: png, jpeg, gif, webp, at most 3.75 MB and 8000 px per side
 * (Bedrock API reference, `Message` / `ImageBlock`; Nova user guide, image understanding).
 */
const CONVERSE_IMAGES: readonly ConverseImageFormat[] = ['png', 'jpeg', 'gif', 'webp'];
const CONVERSE_IMAGE_BYTES = 3.75 * MB;

/** Converse AudioBlock formats (Bedrock API reference, AudioBlock.format; SDK enum AudioFormat). */
const CONVERSE_AUDIO = ['mp3', 'wav', 'flac', 'ogg', 'opus', 'aac', 'm4a', 'webm', 'mp4', 'mpeg', 'mpga', 'pcm', 'mka', 'mkv', 'x-aac'];

/**
 * Bedrock's request payload limit for multimodal models such as Nova is 25 MB (Nova user guide,
 * "payload size"); we keep inline audio under it.
 */
const REQUEST_PAYLOAD_BYTES = 25 * MB;

interface TraitsRow extends BedrockModelTraits {
  /** Base model IDs (no region prefix, no ARN) this row covers. */
  readonly matches: (baseModelId: string) => boolean;
}

const TABLE: readonly TraitsRow[] = [
  {
    family: 'amazon-nova-2',
    matches: (id) => id.startsWith('amazon.nova-2-lite') || id.startsWith('amazon.nova-2-pro'),
    // ToolChoice doc: `tool` "Only supported by Anthropic Claude 3 and Amazon Nova models".
    toolChoice: 'tool',
    // Converse supported-features page: Nova takes system prompts; nothing restricts them with audio.
    systemPromptWithAudio: true,
    jsonMode: false,
    imageFormats: CONVERSE_IMAGES,
    // Nova 2 user guide, multimodal understanding: audio is a Converse input, from bytes or S3.
    audioFormats: CONVERSE_AUDIO,
    maxInlineImageBytes: CONVERSE_IMAGE_BYTES,
    maxInlineAudioBytes: REQUEST_PAYLOAD_BYTES,
    // Converse supported-features page: "Amazon S3 links for multimedia" — Yes for Nova.
    readsS3: true,
    // UNVERIFIED: we found no documented audio duration limit for Nova 2; one call per file.
    audioWindowSeconds: undefined,
    audioRequestStyle: 'converse',
  },
  {
    family: 'amazon-nova',
    matches: (id) => /^amazon\.nova-(lite|pro|premier)-v1/.test(id),
    toolChoice: 'tool', // ToolChoice doc (above).
    systemPromptWithAudio: true,
    jsonMode: false,
    // Converse supported-features page: Vision Yes for Nova Lite/Pro/Premier.
    imageFormats: CONVERSE_IMAGES,
    // Nova (v1) user guide, supported content by modality: image, video, document; no audio.
    audioFormats: [],
    maxInlineImageBytes: CONVERSE_IMAGE_BYTES,
    maxInlineAudioBytes: 0,
    readsS3: true, // Converse supported-features page: S3 links for multimedia — Yes.
    audioWindowSeconds: undefined,
    audioRequestStyle: 'converse',
  },
  {
    family: 'anthropic-claude',
    matches: (id) => id.startsWith('anthropic.claude'),
    toolChoice: 'tool', // ToolChoice doc (above): Claude 3 and later.
    systemPromptWithAudio: true,
    jsonMode: false,
    imageFormats: CONVERSE_IMAGES, // Converse supported-features page: Vision Yes for Claude 3+.
    audioFormats: [], // Claude on Bedrock takes no audio input.
    maxInlineImageBytes: CONVERSE_IMAGE_BYTES,
    maxInlineAudioBytes: 0,
    readsS3: false, // Converse supported-features page: S3 links for multimedia — No for Claude.
    audioWindowSeconds: undefined,
    audioRequestStyle: 'converse',
  },
  {
    family: 'mistral-voxtral',
    matches: (id) => id.startsWith('mistral.voxtral'),
    // ToolChoice doc: `tool` is for Claude 3 and Nova only; `any` forces our single tool.
    toolChoice: 'any',
    // mistral-common (instruct tokenizer validation): "System messages are not yet allowed when
    // audio is present"; Bedrock answers the same as a 400 (LiteLLM PR 39806, issue 41544:
    // "Found system messages at indexes [0] and audio chunks in user messages are not supported together").
    systemPromptWithAudio: false,
    // aws-samples/mistral-on-aws, notebooks/mistral-examples-reinvent2025 (invoke_model notebook):
    // the Mistral InvokeModel body carries `response_format: {"type": "json_object"}` ("output in
    // JSON format"). Mistral's model catalogue lists structured outputs for Voxtral. UNVERIFIED on Bedrock.
    jsonMode: true,
    imageFormats: [], // Voxtral is an audio-language model: no vision.
    // Same sample: "Required audio format: mono, 16kHz, MP3 with low bitrate (32k)"; Voxtral's
    // model catalogue (Scaleway) lists WAV and MP3. We always send the normalised MP3.
    audioFormats: ['mp3', 'wav'],
    maxInlineImageBytes: 0,
    maxInlineAudioBytes: REQUEST_PAYLOAD_BYTES,
    readsS3: false, // Not a Nova model; the sample sends base64 bytes only.
    // Voxtral model card (Hugging Face) and Transformers docs: 32k-token context, "up to 30
    // minutes of audio for transcription, or 40 minutes for understanding"; Scaleway's catalogue
    // gives the same (maximum understanding duration 40 minutes). At 12.5 audio tokens per second
    // 40 min is 30,000 tokens, which leaves ~2.7k tokens for our prompt and the reply.
    audioWindowSeconds: 40 * 60,
    // Same sample, Converse notebook: "For Voxtral with Converse API, we still use the
    // invoke_model approach since Converse API has limited audio support"; its Converse attempt
    // is marked "WARNING: May not work". The working call is InvokeModel with `input_audio`.
    audioRequestStyle: 'invoke',
  },
  {
    family: 'mistral',
    matches: (id) => id.startsWith('mistral.'),
    toolChoice: 'any', // ToolChoice doc (above).
    systemPromptWithAudio: false, // mistral-common rule (above) applies to every Mistral tokenizer.
    jsonMode: true,
    // Converse supported-features page / AWS sample: Pixtral, Mistral Large 3 and Ministral 3 read images.
    imageFormats: CONVERSE_IMAGES,
    audioFormats: [],
    maxInlineImageBytes: CONVERSE_IMAGE_BYTES,
    maxInlineAudioBytes: 0,
    readsS3: false,
    audioWindowSeconds: undefined,
    audioRequestStyle: 'converse',
  },
];

/** Any model we have no row for: the conservative choice of every trait. */
const UNKNOWN: BedrockModelTraits = {
  family: 'unknown',
  toolChoice: 'any',
  systemPromptWithAudio: false,
  jsonMode: false,
  imageFormats: CONVERSE_IMAGES,
  audioFormats: CONVERSE_AUDIO,
  maxInlineImageBytes: CONVERSE_IMAGE_BYTES,
  maxInlineAudioBytes: REQUEST_PAYLOAD_BYTES,
  readsS3: false,
  audioWindowSeconds: undefined,
  audioRequestStyle: 'converse',
};

/** `arn:...:inference-profile/us.amazon.nova-lite-v1:0` -> `amazon.nova-lite-v1:0` */
export function baseModelId(modelId: string): string {
  // Drop an ARN prefix and a cross-region profile prefix (us., eu., apac., global., ...).
  return modelId.replace(/^arn:[^/]+\//, '').replace(/^[a-z]{2,6}\.(?=[a-z0-9-]+\.)/, '');
}

export function bedrockModelTraits(modelId: string): BedrockModelTraits {
  const base = baseModelId(modelId);
  const row = TABLE.find((candidate) => candidate.matches(base));
  if (!row) return UNKNOWN;
  const { matches: _matches, ...traits } = row;
  return traits;
}
