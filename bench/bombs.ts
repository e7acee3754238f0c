// `npm run bench:bombs`: what each file of the hostile-media corpus (issue 16, "Media that sinks a
// worker") costs the extractor now. The corpus is made here by test/support/media-bombs.ts at the
// red team's sizes, plus the largest images the default budget still decodes. Each file runs in a
// fresh child process through the local analyzer and through the Bedrock path's media step (image
// downscaler, or the ffmpeg audio normaliser); GNU time reports the peak RSS of the largest
// process (Node with its parser worker, or ffmpeg), the child reports its own wall time for the
// file after a warm-up with a committed fixture (sharp loaded, parser worker running).
// Target (issue 16): every file under 512 MB and 10 s. Exit code 1 when one misses it.
//   npm run bench:bombs [-- --only jpeg,flac] [--out bench/results/bombs.json]
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveSettings } from '../lib/settings';
import { FfmpegAudioNormaliser } from '../lambdas/adapters/audio-normaliser';
import { fitImageWithinLimits } from '../lambdas/adapters/image-downscaler';
import { createLocalAnalyzer } from '../lambdas/adapters/local-analyzer';
import { MetadataParser } from '../lambdas/adapters/metadata-parser/metadata-parser';
import { PermanentJobError } from '../lambdas/core/errors';
import { sniffMedia } from '../lambdas/core/media-type';
import { FFMPEG_PATH } from '../test/support/audio-files';
import {
  flacWithComments,
  losslessWebpHeader,
  mp3WithId3Frames,
  nestedXmp,
  pngWithXmp,
  progressiveJpegHeader,
  tallPalettePng,
} from '../test/support/media-bombs';

const TARGET_MB = 512;
const TARGET_MS = 10_000;
const CHILD_KILL_MS = 180_000;
const CORPUS_DIR = join(tmpdir(), 'metahook-bomb-corpus');
const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));

interface CorpusFile {
  readonly name: string;
  readonly file: string;
  readonly what: string;
  readonly make: () => Promise<Uint8Array> | Uint8Array;
}

/** Under the 50 MP default: an 8160x6120 (49.9 MP) image is the largest the budget decodes. */
const EDGE = { width: 8160, height: 6120 };

async function sharpImage(kind: 'jpeg' | 'webp'): Promise<Uint8Array> {
  const sharp = (await import('sharp')).default;
  const canvas = sharp({
    create: { ...EDGE, channels: 3, background: '#4080c0', ...(kind === 'jpeg' ? { noise: { type: 'gaussian', mean: 128, sigma: 40 } } : {}) },
    limitInputPixels: false,
  });
  const encoded = kind === 'jpeg' ? canvas.jpeg({ progressive: true, quality: 60 }) : canvas.webp({ lossless: true });
  return new Uint8Array(await encoded.toBuffer());
}

const CORPUS: readonly CorpusFile[] = [
  { name: 'jpeg-16383', file: 'progressive-16383.jpg', what: 'progressive JPEG header declaring 16383x16383', make: () => progressiveJpegHeader(16383, 16383) },
  { name: 'jpeg-edge', file: `progressive-${EDGE.width}x${EDGE.height}.jpg`, what: `real progressive JPEG ${EDGE.width}x${EDGE.height} (49.9 MP, noise)`, make: () => sharpImage('jpeg') },
  { name: 'webp-16383', file: 'lossless-16383.webp', what: '38-byte lossless WebP declaring 16383x16383', make: () => losslessWebpHeader(16383, 16383) },
  { name: 'webp-edge', file: `lossless-${EDGE.width}x${EDGE.height}.webp`, what: `real lossless WebP ${EDGE.width}x${EDGE.height} (49.9 MP)`, make: () => sharpImage('webp') },
  { name: 'png-tall', file: 'palette-1x100000000.png', what: 'valid 1 x 100,000,000 palette PNG', make: () => tallPalettePng(100_000_000) },
  { name: 'xmp-under', file: 'xmp-nested-under-budget.png', what: 'PNG, 1 MB XMP nested 17,000 deep (within the byte budget)', make: () => pngWithXmp(nestedXmp(17_000)) },
  { name: 'xmp-over', file: 'xmp-nested-over-budget.png', what: 'PNG, 3.4 MB XMP nested 60,000 deep', make: () => pngWithXmp(nestedXmp(60_000)) },
  { name: 'mp3', file: 'id3-2600000-frames.mp3', what: 'MP3, 42 MB ID3v2 tag of 2.6 million frames', make: () => mp3WithId3Frames(2_600_000) },
  { name: 'flac', file: 'vorbis-6900000-comments.flac', what: 'FLAC, 48 MB of 6.9 million Vorbis comments', make: () => flacWithComments(6_900_000) },
];

type Path = 'local' | 'bedrock';

interface ChildReport {
  readonly outcome: 'described' | 'refused' | 'crashed';
  readonly code?: string;
  readonly message?: string;
  readonly wallMs: number;
  /** User + system CPU of the Node process (all its threads: libvips, the parser worker) for the file; ffmpeg not included. */
  readonly cpuMs: number;
  readonly nodePeakRssMb: number;
}

/** In a fresh process: one file through one path, then wall time and this process's own peak RSS. */
async function child(spec: string): Promise<void> {
  const { file, path } = JSON.parse(spec) as { file: string; path: Path };
  const bytes = new Uint8Array(await readFile(file));
  const decode = resolveSettings(process.env).decode;
  const parser = new MetadataParser(decode);
  const normaliser = new FfmpegAudioNormaliser({ ffmpegPath: FFMPEG_PATH, timeBudgetMs: 60_000, parser, maxTagBytes: decode.maxAudioTagBytes });
  const analyzer = createLocalAnalyzer({ decode, parser });
  const runPath = async (input: Uint8Array) => {
    const sniffed = await sniffMedia(input);
    if (sniffed.kind === 'unsupported') throw new PermanentJobError('unsupported_media_type', `sniffed as ${sniffed.mime}`);
    if (path === 'local') await analyzer.extract({ ...sniffed, bytes: input });
    else if (sniffed.kind === 'image') await fitImageWithinLimits(input, sniffed.format, undefined, decode);
    else await normaliser.normalise({ bytes: input, format: sniffed.format }, { segmentSeconds: 1800, maxDurationSeconds: 7200 });
  };
  // A warm container: sharp loaded and the parser worker started by a committed fixture of the
  // same kind first, so the clock measures the file, not the cold start.
  const kind = (await sniffMedia(bytes)).kind;
  await runPath(new Uint8Array(await readFile(join(FIXTURES, kind === 'audio' ? 'short.flac' : 'photo-iptc.jpg'))));
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let report: Omit<ChildReport, 'wallMs' | 'cpuMs' | 'nodePeakRssMb'>;
  try {
    await runPath(bytes);
    report = { outcome: 'described' };
  } catch (error) {
    report =
      error instanceof PermanentJobError
        ? { outcome: 'refused', code: error.code, message: error.message }
        : { outcome: 'crashed', message: error instanceof Error ? error.message : String(error) };
  }
  const wallMs = Math.round(performance.now() - started);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  await parser.close();
  process.stdout.write(JSON.stringify({ ...report, wallMs, cpuMs, nodePeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

interface Row extends ChildReport {
  readonly name: string;
  readonly what: string;
  readonly bytes: number;
  readonly path: Path;
  /** GNU time's %M: the largest of the child and the processes it waited for (ffmpeg). */
  readonly peakRssMb: number;
  readonly withinTarget: boolean;
}

function runChild(file: string, path: Path): Promise<ChildReport & { peakRssMb: number }> {
  const script = fileURLToPath(import.meta.url);
  const node = [process.execPath, '--import', 'tsx', script, '--child', JSON.stringify({ file, path })];
  const useTime = existsSync('/usr/bin/time');
  const [command, ...args] = useTime ? ['/usr/bin/time', '-f', 'PEAK_KB=%M', ...node] : node;
  return new Promise((resolve) => {
    execFile(command!, args, { timeout: CHILD_KILL_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const peakKb = Number(/PEAK_KB=(\d+)/.exec(stderr)?.[1]);
      try {
        const report = JSON.parse(stdout) as ChildReport;
        resolve({ ...report, peakRssMb: Number.isFinite(peakKb) ? Math.round(peakKb / 1024) : report.nodePeakRssMb });
      } catch {
        resolve({
          outcome: 'crashed',
          message: error ? `${error.message.split('\n')[0]} (killed after ${CHILD_KILL_MS} ms or crashed)` : 'no report',
          wallMs: CHILD_KILL_MS,
          cpuMs: 0,
          nodePeakRssMb: 0,
          peakRssMb: Number.isFinite(peakKb) ? Math.round(peakKb / 1024) : 0,
        });
      }
    });
  });
}

async function corpusFile(entry: CorpusFile): Promise<string> {
  mkdirSync(CORPUS_DIR, { recursive: true });
  const file = join(CORPUS_DIR, entry.file);
  if (!existsSync(file)) writeFileSync(file, await entry.make());
  return file;
}

export function render(rows: readonly Row[], command: string): string {
  const lines = [
    `Bomb corpus (${command}; load average at the end ${loadavg().map((n) => n.toFixed(1)).join(' ')} on ${cpus().length} cores); target: every file under ${TARGET_MB} MB peak RSS and ${TARGET_MS / 1000} s`,
    '',
    '| File | Size | Path | Outcome | Wall time | CPU time | Peak RSS | Target |',
    '|---|---:|---|---|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    const outcome = row.outcome === 'refused' ? `refused \`${row.code}\`` : row.outcome;
    lines.push(
      `| ${row.what} | ${formatBytes(row.bytes)} | ${row.path} | ${outcome} | ${(row.wallMs / 1000).toFixed(2)} s | ${(row.cpuMs / 1000).toFixed(2)} s | ${row.peakRssMb} MB | ${row.withinTarget ? 'met' : '**missed**'} |`,
    );
  }
  return lines.join('\n');
}

const formatBytes = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} KB` : `${bytes} B`);

async function main(): Promise<void> {
  const args = parseArgs({ options: { child: { type: 'string' }, only: { type: 'string' }, out: { type: 'string' } } }).values;
  if (args.child) return child(args.child);
  const only = args.only?.split(',').map((name) => name.trim());
  const rows: Row[] = [];
  for (const entry of CORPUS.filter((candidate) => !only || only.some((name) => candidate.name.startsWith(name)))) {
    const file = await corpusFile(entry);
    const bytes = (await readFile(file)).byteLength;
    for (const path of ['local', 'bedrock'] as const) {
      const report = await runChild(file, path);
      const row: Row = {
        name: entry.name,
        what: entry.what,
        bytes,
        path,
        ...report,
        withinTarget: report.outcome !== 'crashed' && report.peakRssMb < TARGET_MB && report.wallMs < TARGET_MS,
      };
      rows.push(row);
      console.error(`${entry.name} ${path}: ${row.outcome}${row.code ? ` ${row.code}` : ''} in ${row.wallMs} ms (cpu ${row.cpuMs} ms), ${row.peakRssMb} MB${row.message ? ` (${row.message})` : ''}`);
    }
  }
  const command = `npm run bench:bombs${only ? ` -- --only ${only.join(',')}` : ''}`;
  if (args.out) writeFileSync(args.out, JSON.stringify({ command, date: new Date().toISOString(), loadAverage: loadavg(), targetMb: TARGET_MB, targetMs: TARGET_MS, rows }, null, 2));
  console.log(render(rows, command));
  if (rows.some((row) => !row.withinTarget)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
