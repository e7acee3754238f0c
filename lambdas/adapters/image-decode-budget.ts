// Decode budget for images: local analyzer and image downscaler -> here, before sharp decodes.
// The header says how many pixels a decode will hold (a 3 MB progressive JPEG or a 38-byte
// lossless WebP can declare 16383x16383 = 1 GB of RGBA), so the size is read from the header
// and checked against settings.decode first; sharp then runs with the same pixel limit, a
// sequential read, a time limit, and one decode at a time per process. libvips memory is native:
// V8 limits do not bound it, only these do (BENCHMARKS.md, "Decode budgets", has the peaks).
import type { SharpConstructor, SharpOptions } from 'sharp';
import { resolveSettings, type Settings } from '../../lib/settings';
import { PermanentJobError } from '../core/errors';

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp';

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

export type ImageDecodeBudget = Pick<Settings['decode'], 'maxImagePixels' | 'maxImageSidePx' | 'imageDecodeTimeoutSeconds'>;

export const DEFAULT_IMAGE_DECODE_BUDGET: ImageDecodeBudget = resolveSettings().decode;

export const isImageFormat = (format: string): format is ImageFormat =>
  format === 'jpeg' || format === 'png' || format === 'gif' || format === 'webp';

/**
 * The image's size from its header, refused with `file_too_large` when over the budget. A header
 * this code cannot read is asked of sharp (header only, no pixels); none at all is `unsupported_media_type`.
 */
export async function checkImageHeader(
  bytes: Uint8Array,
  format: string,
  budget: ImageDecodeBudget,
  loadSharp: () => Promise<SharpConstructor>,
): Promise<ImageSize> {
  const size = (isImageFormat(format) ? readImageSize(bytes, format) : undefined) ?? (await sizeFromSharpHeader(bytes, loadSharp));
  // The same code the decoder gives a file it cannot read at all.
  if (!size) throw new PermanentJobError('unsupported_media_type', 'The image could not be decoded: its header gives no width and height');
  assertWithinImageBudget(size, budget);
  return size;
}

export function assertWithinImageBudget(size: ImageSize, budget: ImageDecodeBudget): void {
  const pixels = size.width * size.height;
  if (pixels > budget.maxImagePixels) {
    throw new PermanentJobError(
      'file_too_large',
      `The image is ${size.width}x${size.height} (${megapixels(pixels)} MP); the decode budget is ${megapixels(budget.maxImagePixels)} MP (METAHOOK_MAX_IMAGE_PIXELS)`,
    );
  }
  const side = Math.max(size.width, size.height);
  if (side > budget.maxImageSidePx) {
    throw new PermanentJobError(
      'file_too_large',
      `The image is ${size.width}x${size.height}; the decode budget allows at most ${budget.maxImageSidePx} px per side (METAHOOK_MAX_IMAGE_SIDE_PX)`,
    );
  }
}

const megapixels = (pixels: number): string => String(Math.round(pixels / 100_000) / 10);

/** sharp's own guards with the same budget, in case a decoder reads a size the header check did not. */
export function budgetedSharpOptions(budget: ImageDecodeBudget): Pick<SharpOptions, 'limitInputPixels' | 'sequentialRead'> {
  return { limitInputPixels: budget.maxImagePixels, sequentialRead: true };
}

/** A sharp failure caused by a budget, as the permanent error naming it; undefined for any other failure. */
export function budgetFailure(error: unknown, budget: ImageDecodeBudget): PermanentJobError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    return new PermanentJobError('file_too_large', `The image has more pixels than the ${megapixels(budget.maxImagePixels)} MP decode budget (METAHOOK_MAX_IMAGE_PIXELS)`, { cause: error });
  }
  if (/^timeout:/i.test(message)) {
    return new PermanentJobError('file_unreadable', `Decoding the image took longer than the ${budget.imageDecodeTimeoutSeconds} s decode budget (METAHOOK_IMAGE_DECODE_TIMEOUT_SECONDS)`, { cause: error });
  }
  return undefined;
}

/** libvips keeps decoded operations in a process-wide cache (50 MB by default): off, so a decode's memory goes when it ends. */
export function withoutOperationCache(sharp: SharpConstructor): SharpConstructor {
  sharp.cache(false);
  return sharp;
}

let decodeSlot: Promise<unknown> = Promise.resolve();

/**
 * Runs sharp work one file at a time per process: the batch processor runs records in parallel,
 * and N concurrent decodes would hold N budgets of native memory at once.
 */
export function withDecodeSlot<T>(work: () => Promise<T>): Promise<T> {
  const run = decodeSlot.then(work, work);
  decodeSlot = run.catch(() => undefined);
  return run;
}

async function sizeFromSharpHeader(bytes: Uint8Array, loadSharp: () => Promise<SharpConstructor>): Promise<ImageSize | undefined> {
  const sharp = await loadSharp();
  try {
    // metadata() reads the header only; limitInputPixels: false so an oversize header is reported, not thrown.
    const metadata = await sharp(bytes, { pages: 1, limitInputPixels: false }).metadata();
    return metadata.width && metadata.height ? { width: metadata.width, height: metadata.height } : undefined;
  } catch {
    return undefined;
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
