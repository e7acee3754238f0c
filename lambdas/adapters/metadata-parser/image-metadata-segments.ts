// Byte budget for embedded image metadata: local analyzer -> here -> MetadataParser. Copies only
// the segments exifr reads (JPEG APP1 EXIF/XMP and APP13 IPTC; PNG eXIf and uncompressed XMP
// iTXt) into a small container of the same format, up to a byte budget, so the parser never sees
// pixel data, a zlib stream it would inflate without limit (PNG iCCP, compressed iTXt), or more
// than the budget of text. A segment that does not fit is skipped, not the image.

export interface MetadataContainer {
  /** SOI + kept segments + EOI (JPEG) or signature + IHDR + kept chunks + IEND (PNG); undefined when nothing is kept. */
  readonly bytes: Uint8Array | undefined;
  /** Human notes on what was left out and why, e.g. "XMP (iTXt, 2400000 bytes) over the 1048576-byte metadata budget". */
  readonly skipped: readonly string[];
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const XMP_KEYWORD = 'XML:com.adobe.xmp';

export function imageMetadataContainer(bytes: Uint8Array, format: string, maxBytes: number): MetadataContainer {
  if (format === 'jpeg') return jpegContainer(bytes, maxBytes);
  if (format === 'png') return pngContainer(bytes, maxBytes);
  return { bytes: undefined, skipped: [] };
}

function jpegContainer(bytes: Uint8Array, maxBytes: number): MetadataContainer {
  const kept: Uint8Array[] = [];
  const skipped: string[] = [];
  let total = 0;
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return { bytes: undefined, skipped };
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) break;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    // Scan data, end of image, or a marker without a length: the metadata segments are behind us.
    if (marker === 0xda || marker === 0xd9 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) break;
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    const end = offset + 2 + length;
    if (length < 2 || end > bytes.length) break;
    if (marker === 0xe1 || marker === 0xed) {
      if (total + length + 2 <= maxBytes) {
        kept.push(bytes.subarray(offset, end));
        total += length + 2;
      } else {
        skipped.push(`${marker === 0xe1 ? 'EXIF/XMP (APP1)' : 'IPTC (APP13)'} segment of ${length} bytes over the ${maxBytes}-byte metadata budget`);
      }
    }
    offset = end;
  }
  if (kept.length === 0) return { bytes: undefined, skipped };
  return { bytes: concat([Uint8Array.of(0xff, 0xd8), ...kept, Uint8Array.of(0xff, 0xd9)]), skipped };
}

function pngContainer(bytes: Uint8Array, maxBytes: number): MetadataContainer {
  const skipped: string[] = [];
  if (bytes.length < 33 || PNG_SIGNATURE.some((byte, i) => bytes[i] !== byte)) return { bytes: undefined, skipped };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept: Uint8Array[] = [];
  let header: Uint8Array | undefined;
  let total = 0;
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!, bytes[offset + 6]!, bytes[offset + 7]!);
    const end = offset + 12 + length;
    if (end > bytes.length || type === 'IEND') break;
    const chunk = bytes.subarray(offset, end);
    if (type === 'IHDR') header ??= chunk;
    const wanted = type === 'eXIf' || (type === 'iTXt' && isUncompressedXmp(bytes.subarray(offset + 8, end - 4)));
    if (wanted) {
      if (total + chunk.length <= maxBytes) {
        kept.push(chunk);
        total += chunk.length;
      } else {
        skipped.push(`${type === 'eXIf' ? 'EXIF (eXIf)' : 'XMP (iTXt)'} chunk of ${length} bytes over the ${maxBytes}-byte metadata budget`);
      }
    }
    offset = end;
  }
  if (!header || kept.length === 0) return { bytes: undefined, skipped };
  const iend = Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);
  return { bytes: concat([bytes.subarray(0, 8), header, ...kept, iend]), skipped };
}

/** iTXt: keyword NUL, compression flag, method, language NUL, translated keyword NUL, text. */
function isUncompressedXmp(data: Uint8Array): boolean {
  if (data.length < XMP_KEYWORD.length + 2) return false;
  for (let i = 0; i < XMP_KEYWORD.length; i++) if (data[i] !== XMP_KEYWORD.charCodeAt(i)) return false;
  return data[XMP_KEYWORD.length] === 0 && data[XMP_KEYWORD.length + 1] === 0;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
