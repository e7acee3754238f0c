// Local analyzer, image part: extractor -> local analyzer -> here. Reads the facts an image
// carries (size, format, alpha, colours, EXIF/IPTC/XMP) and words them as an ImageResult.
// sharp loads on first use so bundles that never analyse locally stay light. Decode budgets
// first (image-decode-budget.ts: header size, then sharp with the same limits); EXIF/IPTC/XMP are
// parsed off the main thread from a bounded copy of their segments (metadata-parser/).
import type { Metadata, SharpConstructor } from 'sharp';
import { PermanentJobError } from '../../core/errors';
import {
  budgetedSharpOptions,
  budgetFailure,
  checkImageHeader,
  DEFAULT_IMAGE_DECODE_BUDGET,
  withDecodeSlot,
  withoutOperationCache,
  type ImageDecodeBudget,
} from '../image-decode-budget';
import { imageMetadataContainer } from '../metadata-parser/image-metadata-segments';
import { defaultMetadataParser, MetadataParseError, type ImageMetadataSegments, type MetadataParser } from '../metadata-parser/metadata-parser';
import { normalizeKeywords, type ImageResult } from '../../core/metadata-result';
import { summariseColours, type DominantColour } from './colour-names';
import { article, capitalise, cleanText, errorSummary, listPhrase, repairUtf8ReadAsLatin1, truncate } from './text';

/** Formats we analyse, with the name a person would write. */
const IMAGE_FORMAT_LABELS: Readonly<Record<string, string>> = { jpeg: 'JPEG', png: 'PNG', gif: 'GIF', webp: 'WebP' };
/** Colour statistics come from a thumbnail this size: enough for dominant colours, cheap to scan. */
const THUMBNAIL_EDGE = 64;
/** Within 2% of each other, width and height read as square. */
const SQUARE_TOLERANCE = 0.02;

let sharpModule: Promise<SharpConstructor> | undefined;
// sharp's ESM entry default-exports the constructor; the cast narrows TypeScript's CJS-interop union.
const loadSharp = (): Promise<SharpConstructor> =>
  (sharpModule ??= import('sharp').then((m) => withoutOperationCache(m.default as SharpConstructor)));

export interface ImageAnalysisOptions {
  /** The sniffed format (jpeg, png, ...), for the header read; sharp's header read otherwise. */
  readonly format?: string;
  /** @default DEFAULT_IMAGE_DECODE_BUDGET (settings.decode) */
  readonly budget?: ImageDecodeBudget;
  /** @default defaultMetadataParser() */
  readonly parser?: MetadataParser;
  /** Bytes of EXIF/XMP/IPTC segments handed to the parser. @default settings.decode.maxImageMetadataBytes */
  readonly maxMetadataBytes?: number;
}

const DEFAULT_MAX_METADATA_BYTES = 1024 * 1024;

interface EmbeddedFacts {
  readonly title?: string;
  readonly caption?: string;
  readonly keywords: string[];
  readonly cameraMake?: string;
  readonly cameraModel?: string;
  readonly takenAt?: string;
}

export async function describeImage(bytes: Uint8Array, options: ImageAnalysisOptions = {}): Promise<ImageResult> {
  const budget = options.budget ?? DEFAULT_IMAGE_DECODE_BUDGET;
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Before any pixel is decoded: a header over the budget is refused here.
  await checkImageHeader(input, options.format ?? '', budget, loadSharp);
  const sharp = await loadSharp();

  let metadata: Metadata;
  let thumbnail: Buffer;
  try {
    // failOn 'error' still decodes a file with a minor warning; a truncated or garbled one fails.
    const decodeOptions = { failOn: 'error', ...budgetedSharpOptions(budget) } as const;
    [metadata, thumbnail] = await withDecodeSlot(async () => [
      await sharp(input, decodeOptions).metadata(),
      await sharp(input, { ...decodeOptions, animated: false })
        .timeout({ seconds: budget.imageDecodeTimeoutSeconds })
        .resize(THUMBNAIL_EDGE, THUMBNAIL_EDGE, { fit: 'inside', withoutEnlargement: true })
        .toColourspace('srgb')
        .ensureAlpha()
        .raw({ depth: 'uchar' })
        .toBuffer(),
    ] as const);
  } catch (error) {
    throw budgetFailure(error, budget) ?? new PermanentJobError('unsupported_media_type', `The image could not be decoded: ${errorSummary(error)}`, { cause: error });
  }

  const formatLabel = IMAGE_FORMAT_LABELS[metadata.format];
  if (!formatLabel) {
    throw new PermanentJobError('unsupported_media_type', `Image format ${metadata.format} is not supported`);
  }

  const format = metadata.format;
  // EXIF orientation 5-8 turns the picture a quarter: autoOrient holds the size as displayed.
  const { width, height } = metadata.autoOrient;
  const orientation = orientationOf(width, height);
  const frameCount = metadata.pages ?? 1;
  const animated = frameCount > 1;
  const colours = summariseColours(thumbnail);
  const transparent = metadata.hasAlpha && hasTransparentPixels(thumbnail);
  const embedded = await readEmbeddedFacts(input, format, options.parser ?? defaultMetadataParser(), options.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES);
  const camera = cameraName(embedded.cameraMake, embedded.cameraModel);

  const appearance = colours.monochrome
    ? 'in black and white'
    : colours.dominant.length > 0
      ? colourPhrase(colours.dominant)
      : 'fully transparent';
  const subject = `${orientation} ${formatLabel} ${animated ? 'animation' : 'image'}`;

  const extras = [...(animated ? [`${frameCount} frames`] : []), ...(transparent ? ['transparent areas'] : [])];
  const sentences = [
    `${capitalise(article(`${width}`))} ${width}x${height} ${subject}${extras.length > 0 ? ` with ${listPhrase(extras)}` : ''}, ${appearance}.`,
  ];
  if (camera || embedded.takenAt) {
    sentences.push(`Taken${camera ? ` with ${article(camera)} ${camera}` : ''}${embedded.takenAt ? ` on ${humanDate(embedded.takenAt)}` : ''}.`);
  }
  if (embedded.title) sentences.push(`Titled "${embedded.title}".`);
  if (embedded.caption) sentences.push(`Embedded caption: "${embedded.caption}".`);

  const generatedCaption = `${capitalise(subject)}, ${appearance}`;
  const keywords = normalizeKeywords([
    ...embedded.keywords,
    orientation,
    format,
    ...(colours.monochrome ? ['black and white'] : colours.dominant.map((colour) => colour.name)),
    ...(animated ? ['animated'] : []),
    ...(transparent ? ['transparent'] : []),
    ...(embedded.cameraMake ? [embedded.cameraMake] : []),
  ]);

  return {
    description: truncate(sentences.join(' '), 2000),
    keywords,
    caption: truncate(embedded.caption ?? embedded.title ?? generatedCaption, 300),
    properties: {
      width,
      height,
      format,
      orientation,
      has_alpha: metadata.hasAlpha,
      animated,
      frame_count: frameCount,
      dominant_colors: colours.dominant.map((colour) => colour.hex),
      dominant_color_names: colours.dominant.map((colour) => colour.name),
      monochrome: colours.monochrome,
      camera: camera ?? null,
      taken_at: embedded.takenAt ?? null,
      title: embedded.title ?? null,
    },
  };
}

function orientationOf(width: number, height: number): 'landscape' | 'portrait' | 'square' {
  if (Math.abs(width - height) <= Math.max(width, height) * SQUARE_TOLERANCE) return 'square';
  return width > height ? 'landscape' : 'portrait';
}

function hasTransparentPixels(rgba: Uint8Array): boolean {
  for (let at = 3; at < rgba.length; at += 4) if (rgba[at]! < 128) return true;
  return false;
}

/** "mostly blue, with green and yellow" */
function colourPhrase(colours: readonly DominantColour[]): string {
  const [main, ...rest] = colours.map((colour) => colour.name);
  return rest.length > 0 ? `mostly ${main}, with ${listPhrase(rest)}` : `mostly ${main}`;
}

/** "Canon" + "Canon EOS 5D" reads "Canon EOS 5D", not "Canon Canon EOS 5D". */
function cameraName(make: string | undefined, model: string | undefined): string | undefined {
  if (make && model) return model.toLowerCase().startsWith(make.toLowerCase()) ? model : `${make} ${model}`;
  return model ?? make;
}

/** "2024-05-17T14:30:00" -> "2024-05-17 at 14:30" (the offset, if any, is kept). */
function humanDate(isoLocal: string): string {
  const [date, time = ''] = isoLocal.split('T');
  const clock = time.slice(0, 5);
  const offset = time.slice(8);
  return clock ? `${date} at ${clock}${offset ? ` (UTC${offset})` : ''}` : (date ?? isoLocal);
}

// ---------- EXIF / IPTC / XMP ----------

/**
 * A segment over the byte budget is skipped (the image is still described); a parse over the
 * worker's time or memory budget refuses the file (`file_unreadable`, from MetadataParser).
 */
async function readEmbeddedFacts(input: Buffer, format: string, parser: MetadataParser, maxBytes: number): Promise<EmbeddedFacts> {
  // exifr reads JPEG and PNG containers; GIF carries none of these, WebP rarely.
  const container = imageMetadataContainer(input, format, maxBytes).bytes;
  if (!container) return { keywords: [] };
  let segments: ImageMetadataSegments;
  try {
    segments = await parser.parseImage(container);
  } catch (error) {
    // The pixels decoded; metadata the parser rejects is a missing extra, not a failed job.
    if (error instanceof MetadataParseError) return { keywords: [] };
    throw error;
  }

  const { ifd0 = {}, exif = {}, dc = {} } = segments;
  const iptc = Object.fromEntries(Object.entries(segments.iptc ?? {}).map(([key, value]) => [key, repairIptcText(value)]));
  return {
    title: firstText(dc.title, iptc.ObjectName, iptc.Headline),
    caption: firstText(iptc.Caption, dc.description, ifd0.ImageDescription),
    keywords: [...textList(iptc.Keywords), ...textList(dc.subject)],
    cameraMake: firstText(ifd0.Make),
    cameraModel: firstText(ifd0.Model),
    takenAt: exifDateTime(exif.DateTimeOriginal ?? exif.CreateDate ?? ifd0.ModifyDate, exif.OffsetTimeOriginal),
  };
}

function repairIptcText(value: unknown): unknown {
  if (typeof value === 'string') return repairUtf8ReadAsLatin1(value);
  return Array.isArray(value) ? value.map(repairIptcText) : value;
}

/** First usable text among candidates; XMP language alternatives arrive as {lang, value} or arrays of them. */
function firstText(...candidates: unknown[]): string | undefined {
  for (const candidate of candidates) {
    const text = textList(candidate)[0];
    if (text) return text;
  }
  return undefined;
}

function textList(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(textList);
  if (value && typeof value === 'object' && 'value' in value) return textList((value as { value: unknown }).value);
  const text = cleanText(value);
  return text ? [text] : [];
}

/** EXIF "2024:05:17 14:30:00" (+ optional "+02:00") -> "2024-05-17T14:30:00+02:00"; blanks and zeros -> undefined. */
export function exifDateTime(value: unknown, offset: unknown): string | undefined {
  const match = typeof value === 'string' ? /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value.trim()) : null;
  if (!match || match[1] === '0000' || match[2] === '00') return undefined;
  const [, year, month, day, hour, minute, second] = match;
  const zone = typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset.trim()) ? offset.trim() : '';
  return `${year}-${month}-${day}T${hour}:${minute}:${second}${zone}`;
}
