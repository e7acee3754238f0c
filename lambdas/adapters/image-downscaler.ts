// Adapter (sharp): bedrock-provider -> fitImageWithinLimits. Shrinks an image only when it is
// over the model's byte or pixel limits, so small files reach the model byte-identical.
// Dimensions come from a header read here, so sharp (a native module, slow to load) is only
// imported for the rare image that actually needs resizing.
import type { SharpConstructor } from 'sharp';
import { PermanentJobError } from '../core/errors';

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp';

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

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

export interface FittedImage {
  readonly bytes: Uint8Array;
  readonly format: ImageFormat;
  /** Size of the file as received. */
  readonly originalSize: ImageSize | undefined;
  /** Size of the image as sent (after downscaling, when that happened). */
  readonly sentSize: ImageSize | undefined;
  readonly downscaled: boolean;
}

const isImageFormat = (format: string): format is ImageFormat =>
  format === 'jpeg' || format === 'png' || format === 'gif' || format === 'webp';

/** Returns the image unchanged when it fits; otherwise a smaller re-encoding that does. */
export async function fitImageWithinLimits(
  bytes: Uint8Array,
  format: string,
  limits: ImageLimits = CONVERSE_IMAGE_LIMITS,
): Promise<FittedImage> {
  if (!isImageFormat(format)) {
    throw new PermanentJobError('unsupported_media_type', `image format "${format}" cannot be sent to the model`);
  }
  // An unusual header (rare) costs a sharp metadata read, not a re-encode.
  const size = readImageSize(bytes, format) ?? (await sizeFromSharp(bytes));
  const fitsPixels = size !== undefined && Math.max(size.width, size.height) <= limits.maxSidePx;
  if (fitsPixels && bytes.byteLength <= limits.maxBytes) {
    return { bytes, format, originalSize: size, sentSize: size, downscaled: false };
  }
  if (size === undefined) {
    throw new PermanentJobError('extraction_failed', 'the image could not be decoded for downscaling');
  }
  return downscale(bytes, format, size, limits);
}

const MAX_ENCODING_ROUNDS = 6;

async function downscale(
  bytes: Uint8Array,
  format: ImageFormat,
  size: ImageSize,
  limits: ImageLimits,
): Promise<FittedImage> {
  const sharp = await loadSharp();
  try {
    let longestSide = Math.min(limits.maxSidePx, Math.max(size.width, size.height));
    // GIF output is large and palette-limited; PNG keeps its look at a fraction of the bytes.
    let outputFormat: ImageFormat = format === 'gif' ? 'png' : format;

    for (let round = 0; round < MAX_ENCODING_ROUNDS; round += 1) {
      // rotate() applies EXIF orientation first, since re-encoding drops the EXIF tag.
      const pipeline = sharp(bytes, { pages: 1 })
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
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) {
      throw new PermanentJobError('file_too_large', 'the image has more pixels than can be decoded', { cause: error });
    }
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
    return (await import('sharp')).default;
  } catch (error) {
    throw new PermanentJobError(
      'file_too_large',
      'the image exceeds the model limits and image downscaling (sharp) is not available in this deployment',
      { cause: error },
    );
  }
}

async function sizeFromSharp(bytes: Uint8Array): Promise<ImageSize | undefined> {
  const sharp = await loadSharp();
  try {
    const metadata = await sharp(bytes, { pages: 1 }).metadata();
    return metadata.width && metadata.height ? { width: metadata.width, height: metadata.height } : undefined;
  } catch {
    return undefined; // undecodable: the caller reports it
  }
}

/**
 * Width and height from the file header, without decoding pixels. Undefined when the header
 * is not what the format promises (the caller then asks sharp). EXIF rotation may swap the two,
 * which does not matter for a limit on the longest side.
 */
export function readImageSize(bytes: Uint8Array, format: ImageFormat): ImageSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (offset: number, length: number) =>
    offset + length <= bytes.length ? String.fromCharCode(...bytes.subarray(offset, offset + length)) : '';
  const valid = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : undefined);

  switch (format) {
    case 'png':
      if (bytes.length < 24 || ascii(12, 4) !== 'IHDR') return undefined;
      return valid(view.getUint32(16), view.getUint32(20));
    case 'gif':
      if (bytes.length < 10 || !ascii(0, 4).startsWith('GIF8')) return undefined;
      return valid(view.getUint16(6, true), view.getUint16(8, true));
    case 'webp':
      return readWebpSize(bytes, view, ascii);
    case 'jpeg':
      return readJpegSize(bytes, view);
  }
}

function readWebpSize(
  bytes: Uint8Array,
  view: DataView,
  ascii: (offset: number, length: number) => string,
): ImageSize | undefined {
  if (bytes.length < 30 || ascii(0, 4) !== 'RIFF' || ascii(8, 4) !== 'WEBP') return undefined;
  const chunk = ascii(12, 4);
  const uint24 = (offset: number) => view.getUint16(offset, true) | (view.getUint8(offset + 2) << 16);
  if (chunk === 'VP8X') return { width: 1 + uint24(24), height: 1 + uint24(27) };
  if (chunk === 'VP8L') {
    const b0 = view.getUint8(21);
    const b1 = view.getUint8(22);
    const b2 = view.getUint8(23);
    const b3 = view.getUint8(24);
    return { width: 1 + (((b1 & 0x3f) << 8) | b0), height: 1 + (((b3 & 0x0f) << 10) | (b2 << 2) | ((b1 & 0xc0) >> 6)) };
  }
  if (chunk === 'VP8 ') {
    const width = view.getUint16(26, true) & 0x3fff;
    const height = view.getUint16(28, true) & 0x3fff;
    return width > 0 && height > 0 ? { width, height } : undefined;
  }
  return undefined;
}

// Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
const isStartOfFrame = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

function readJpegSize(bytes: Uint8Array, view: DataView): ImageSize | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image / scan data before any frame
    const length = view.getUint16(offset + 2);
    if (isStartOfFrame(marker)) {
      if (offset + 9 > bytes.length) return undefined;
      const height = view.getUint16(offset + 5);
      const width = view.getUint16(offset + 7);
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    offset += 2 + length;
  }
  return undefined;
}
