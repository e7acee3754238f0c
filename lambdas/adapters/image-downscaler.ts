// Adapter (sharp): bedrock-provider -> fitImageWithinLimits. Shrinks an image only when it is
// over the model's byte or pixel limits, so small files reach the model byte-identical.
// Dimensions come from a header read (image-decode-budget.ts), so sharp (a native module, slow to
// load) is only imported for the rare image that actually needs resizing, and an image over the
// decode budget is refused before anything decodes it.
import type { SharpConstructor } from 'sharp';
import { PermanentJobError } from '../core/errors';
import {
  budgetedSharpOptions,
  budgetFailure,
  checkImageHeader,
  DEFAULT_IMAGE_DECODE_BUDGET,
  isImageFormat,
  withDecodeSlot,
  withoutOperationCache,
  type ImageDecodeBudget,
  type ImageFormat,
  type ImageSize,
} from './image-decode-budget';

export { readImageSize, type ImageFormat, type ImageSize } from './image-decode-budget';

export interface ImageLimits {
  /** Largest encoded image the model accepts, in bytes. */
  readonly maxBytes: number;
  /** Largest width and height the model accepts, in pixels. */
  readonly maxSidePx: number;
}

/**
 * Converse's per-image limits: at most 3.75 MB and 8000 x 8000 px (Bedrock API reference,
 * Message.content). Claude and Nova accept the same maximum; both rescale internally below it.
 */
export const CONVERSE_IMAGE_LIMITS: ImageLimits = { maxBytes: 3.75 * 1024 * 1024, maxSidePx: 8000 };

export interface FittedImage {
  readonly bytes: Uint8Array;
  readonly format: ImageFormat;
  /** Size of the file as received. */
  readonly originalSize: ImageSize | undefined;
  /** Size of the image as sent (after downscaling, when that happened). */
  readonly sentSize: ImageSize | undefined;
  readonly downscaled: boolean;
}

/**
 * Returns the image unchanged when it fits; otherwise a smaller re-encoding that does. Either way
 * an image whose header is over the decode budget is refused first (`file_too_large`), so the
 * same file fails the same way whether or not this deployment would have decoded it.
 */
export async function fitImageWithinLimits(
  bytes: Uint8Array,
  format: string,
  limits: ImageLimits = CONVERSE_IMAGE_LIMITS,
  budget: ImageDecodeBudget = DEFAULT_IMAGE_DECODE_BUDGET,
): Promise<FittedImage> {
  if (!isImageFormat(format)) {
    throw new PermanentJobError('unsupported_media_type', `image format "${format}" cannot be sent to the model`);
  }
  // An unusual header (rare) costs a sharp header read, not a decode.
  const size = await checkImageHeader(bytes, format, budget, loadSharp);
  if (Math.max(size.width, size.height) <= limits.maxSidePx && bytes.byteLength <= limits.maxBytes) {
    return { bytes, format, originalSize: size, sentSize: size, downscaled: false };
  }
  return withDecodeSlot(() => downscale(bytes, format, size, limits, budget));
}

const MAX_ENCODING_ROUNDS = 6;

async function downscale(
  bytes: Uint8Array,
  format: ImageFormat,
  size: ImageSize,
  limits: ImageLimits,
  budget: ImageDecodeBudget,
): Promise<FittedImage> {
  const sharp = await loadSharp();
  try {
    const longest = Math.max(size.width, size.height);
    let longestSide = Math.min(limits.maxSidePx, longest);
    // A JPEG re-encoded as JPEG keeps about its bytes per pixel: start near the size that fits,
    // so a large photo costs one or two full decodes, not six.
    if (format === 'jpeg' && bytes.byteLength > limits.maxBytes) {
      longestSide = Math.min(longestSide, Math.max(1, Math.floor(longest * Math.sqrt(limits.maxBytes / bytes.byteLength) * 0.95)));
    }
    // GIF output is large and palette-limited; PNG keeps its look at a fraction of the bytes.
    let outputFormat: ImageFormat = format === 'gif' ? 'png' : format;
    // One time budget for all rounds together, not per round.
    const deadline = Date.now() + budget.imageDecodeTimeoutSeconds * 1000;

    for (let round = 0; round < MAX_ENCODING_ROUNDS; round += 1) {
      const secondsLeft = Math.ceil((deadline - Date.now()) / 1000);
      if (secondsLeft <= 0) throw new Error('timeout: the rounds of re-encoding used up the decode budget');
      // rotate() applies EXIF orientation first, since re-encoding drops the EXIF tag.
      const pipeline = sharp(bytes, { pages: 1, ...budgetedSharpOptions(budget) })
        .timeout({ seconds: secondsLeft })
        .rotate()
        .resize({ width: longestSide, height: longestSide, fit: 'inside', withoutEnlargement: true });
      const { data, info } = await encode(pipeline, outputFormat).toBuffer({ resolveWithObject: true });
      if (data.byteLength <= limits.maxBytes) {
        return {
          bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
          format: outputFormat,
          originalSize: size,
          sentSize: { width: info.width, height: info.height },
          downscaled: true,
        };
      }
      // Lossless PNG can stay too big however it is compressed: switch to JPEG after one try.
      if (outputFormat === 'png' && round >= 1) outputFormat = 'jpeg';
      const shrink = Math.sqrt(limits.maxBytes / data.byteLength) * 0.9;
      longestSide = Math.max(1, Math.floor(Math.max(info.width, info.height) * Math.min(shrink, 0.95)));
    }
  } catch (error) {
    if (error instanceof PermanentJobError) throw error;
    const overBudget = budgetFailure(error, budget);
    if (overBudget) throw overBudget;
    throw new PermanentJobError('extraction_failed', 'the image could not be decoded for downscaling', {
      cause: error,
    });
  }
  throw new PermanentJobError('file_too_large', `the image could not be reduced below ${limits.maxBytes} bytes`);
}

type Sharp = SharpConstructor;
type SharpPipeline = ReturnType<Sharp>;

function encode(pipeline: SharpPipeline, format: ImageFormat): SharpPipeline {
  switch (format) {
    case 'jpeg':
      // flatten(): transparent areas become white instead of black when PNG falls back to JPEG.
      return pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: 85 });
    case 'webp':
      return pipeline.webp({ quality: 85 });
    case 'png':
    case 'gif':
      return pipeline.png({ compressionLevel: 9, adaptiveFiltering: true });
  }
}

/**
 * sharp is native and loaded only when an image must shrink. Where it is not installed (see
 * docs/deploy.md, "Image downscaling"), an oversize image fails for good with a clear reason
 * instead of being retried.
 */
async function loadSharp(): Promise<Sharp> {
  try {
    return withoutOperationCache((await import('sharp')).default);
  } catch (error) {
    throw new PermanentJobError(
      'file_too_large',
      'the image exceeds the model limits and image downscaling (sharp) is not available in this deployment',
      { cause: error },
    );
  }
}
