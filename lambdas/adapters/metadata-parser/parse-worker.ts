// Worker thread started by metadata-parser.ts: parses embedded image metadata (exifr) and audio
// tags (music-metadata) off the extractor's main thread, inside the V8 heap limit the parent set,
// so a slow or memory-hungry parse can be stopped without blocking or crashing the extractor.
// Self-contained (no relative imports, erasable TypeScript only): Node runs this file as it is
// from source, and the extractor bundle ships it built as metadata-parse-worker.mjs.
import { parentPort } from 'node:worker_threads';

type ParseRequest =
  | { readonly id: number; readonly kind: 'image'; readonly bytes: Uint8Array }
  | { readonly id: number; readonly kind: 'audio'; readonly bytes: Uint8Array; readonly duration: boolean };

/** Entries kept per list and characters per string in what goes back: tags are attacker-written. */
const MAX_LIST_ITEMS = 64;
const MAX_STRING_CHARS = 2_000;
const MAX_DEPTH = 6;

const port = parentPort;
if (!port) throw new Error('parse-worker.ts runs only as a worker thread (metadata-parser.ts)');

const [exifr, musicMetadata] = await Promise.all([import('exifr').then((m) => m.default), import('music-metadata')]);

port.on('message', (request: ParseRequest) => {
  parse(request).then(
    (value) => port.postMessage({ id: request.id, ok: true, value }),
    (error: unknown) => port.postMessage({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
});
port.postMessage({ ready: true });

async function parse(request: ParseRequest): Promise<unknown> {
  if (request.kind === 'image') {
    const segments = await exifr.parse(request.bytes, {
      tiff: true,
      exif: true,
      gps: false,
      interop: false,
      ifd1: false,
      iptc: true,
      xmp: true,
      // iCCP is zlib-compressed: exifr would inflate it without a size limit.
      icc: false,
      jfif: false,
      ihdr: false,
      makerNote: false,
      userComment: false,
      mergeOutput: false,
      // Raw strings: revived dates would be read in the machine's time zone.
      reviveValues: false,
    });
    return bounded(segments ?? {}, 0);
  }
  const parsed = await musicMetadata.parseBuffer(request.bytes, { size: request.bytes.byteLength }, { duration: request.duration, skipCovers: true });
  return { format: bounded(parsed.format, 0), common: bounded({ ...parsed.common, picture: undefined }, 0) };
}

/** A copy small enough to post back: long lists cut, long strings cut, binary values dropped. */
function bounded(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING_CHARS ? value.slice(0, MAX_STRING_CHARS) : value;
  if (value === null || typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
  if (depth >= MAX_DEPTH || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  if (Array.isArray(value)) return value.slice(0, MAX_LIST_ITEMS).map((item) => bounded(item, depth + 1));
  if (value instanceof Map || value instanceof Set) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value).slice(0, 256)) {
    const copy = bounded(item, depth + 1);
    if (copy !== undefined) out[key] = copy;
  }
  return out;
}
