// `npm run bench:audio` (also a phase of `npm run bench`): what audio normalisation costs.
// For a 10-minute 44.1 kHz stereo 128 kbps MP3 and a 50 MB 44.1 kHz stereo WAV (both made here),
// times FfmpegAudioNormaliser.normalise (median of --runs, and the first run apart: it starts the
// encoder worker, which later runs reuse), the CPU each run costs (user + sys of this process's
// threads and of the ffmpeg it ran), measures peak RSS of the two processes involved (the Node
// function process, in a fresh child, and ffmpeg itself, from the kernel's rusage via GNU time when
// present), and the bytes the model receives before and after. With --bundled it times the
// normaliser and its workers built as the extractor's Lambda bundle is (lib/handler-bundling.ts),
// not the sources under tsx (whose loader also runs in each worker thread it starts).
//   npm run bench:audio [-- --runs 5] [--quick] [--bundled] [--out file.json]
import { execFile, execSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as source from '../lambdas/adapters/audio-normaliser';
import { COMPANION_BUNDLES, companionBundleCommand } from '../lib/handler-bundling';
import { FFMPEG_PATH, makeMp3, makeWav } from '../test/support/audio-files';

const run = promisify(execFile);
// Read only when run as a script: bench/run.ts imports `render` with its own arguments.
const readArgs = () =>
  parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      worker: { type: 'string' },
      bundled: { type: 'boolean', default: false },
      'bundle-dir': { type: 'string' },
    },
  }).values;
const MAX_SECONDS = 2 * 3600;
// Voxtral's window is about 40 minutes (docs/bedrock.md); the bench cuts at 30.
const SEGMENT_SECONDS = 1800;
let normaliser: source.FfmpegAudioNormaliser;
/** Where the bundled normaliser was built (--bundled), for the fresh process that measures RSS. */
let bundleDir: string | undefined;

/** The normaliser module: the sources, or the extractor-style bundle built into `dir`. */
async function normaliserModule(dir: string | undefined): Promise<typeof source> {
  if (!dir) return source;
  return (await import(pathToFileURL(join(dir, 'audio-normaliser.mjs')).href)) as typeof source;
}

/** The normaliser and both worker files, built as the extractor's bundle is (bench/cold-start.ts CDK_BUNDLING, the companion command). */
async function buildBundle(dir: string): Promise<void> {
  // Imported here, not at the top: the fresh process that measures RSS must not load the CDK or esbuild.
  const [{ build }, { REPO_ROOT }, { CDK_BUNDLING }] = await Promise.all([import('esbuild'), import('../lib/constructs/pipeline-function'), import('./cold-start')]);
  for (const companion of COMPANION_BUNDLES.extractor ?? []) execSync(companionBundleCommand(REPO_ROOT, companion, dir), { stdio: 'pipe' });
  await build({
    ...CDK_BUNDLING,
    mainFields: [...CDK_BUNDLING.mainFields],
    external: [...CDK_BUNDLING.external],
    entryPoints: [join(REPO_ROOT, 'lambdas/adapters/audio-normaliser.ts')],
    outfile: join(dir, 'audio-normaliser.mjs'),
    absWorkingDir: REPO_ROOT,
  });
}

async function useNormaliser(dir: string | undefined): Promise<void> {
  const { FfmpegAudioNormaliser } = await normaliserModule(dir);
  normaliser = new FfmpegAudioNormaliser({ ffmpegPath: FFMPEG_PATH, timeBudgetMs: 120_000 });
}

interface Case {
  readonly name: string;
  readonly file: string;
  readonly format: 'mp3' | 'wav';
  readonly audioSeconds: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** CPU ms (user + sys) of the children this process has waited for (Linux /proc: cutime + cstime), or undefined. */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of proc(5), in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

/** In a fresh process: one normalisation, then this process's own peak RSS. */
async function worker(spec: string): Promise<void> {
  const { file, format } = JSON.parse(spec) as Case;
  const bytes = new Uint8Array(await readFile(file));
  const audio = await normaliser.normalise({ bytes, format }, { segmentSeconds: SEGMENT_SECONDS, maxDurationSeconds: MAX_SECONDS });
  process.stdout.write(JSON.stringify({ nodePeakRssMb: process.resourceUsage().maxRSS / 1024, segments: audio.segments.length }));
}

/** ffmpeg's own peak RSS for the same command line, from GNU time (the kernel's ru_maxrss). */
async function ffmpegPeakRssMb(c: Case): Promise<number | undefined> {
  if (!existsSync('/usr/bin/time')) return undefined;
  const argv = ['-f', '%M', FFMPEG_PATH, ...source.normaliserFfmpegArgs(c.format, MAX_SECONDS)];
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', argv, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const kb = Number(/(\d+)\s*$/.exec(stderr.trim())?.[1]);
      resolve(Number.isFinite(kb) ? kb / 1024 : undefined);
    });
    readFile(c.file).then((bytes) => child.stdin.end(bytes), reject);
  });
}

async function measure(c: Case, runs: number) {
  const bytes = new Uint8Array(await readFile(c.file));
  const times: number[] = [];
  const cpu: number[] = [];
  let sent = 0;
  let segments = 0;
  for (let i = 0; i < runs; i++) {
    const startedCpu = process.cpuUsage();
    const startedChildren = childrenCpuMs();
    const started = performance.now();
    const audio = await normaliser.normalise({ bytes, format: c.format }, { segmentSeconds: SEGMENT_SECONDS, maxDurationSeconds: MAX_SECONDS });
    times.push(performance.now() - started);
    const own = process.cpuUsage(startedCpu);
    const children = childrenCpuMs();
    cpu.push((own.user + own.system) / 1000 + (children !== undefined && startedChildren !== undefined ? children - startedChildren : 0));
    sent = audio.segments.reduce((sum, s) => sum + s.bytes.byteLength, 0);
    segments = audio.segments.length;
  }
  const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', JSON.stringify(c), ...(bundleDir ? ['--bundle-dir', bundleDir] : [])], {
    maxBuffer: 1 << 20,
  });
  const fresh = JSON.parse(stdout) as { nodePeakRssMb: number };
  const ffmpegMb = await ffmpegPeakRssMb(c);
  return {
    name: c.name,
    audioSeconds: c.audioSeconds,
    runs,
    medianMs: Math.round(median(times)),
    minMs: Math.round(Math.min(...times)),
    firstMs: Math.round(times[0]!),
    /** Node (all threads) + ffmpeg, user + sys, median per run. */
    cpuMedianMs: Math.round(median(cpu)),
    msPerTenMinutesOfAudio: Math.round((median(times) * 600) / c.audioSeconds),
    nodePeakRssMb: Math.round(fresh.nodePeakRssMb),
    ffmpegPeakRssMb: ffmpegMb === undefined ? null : Math.round(ffmpegMb),
    bytesBefore: bytes.byteLength,
    // What inline base64 in a request body weighs (4/3), before and after.
    base64Before: Math.ceil(bytes.byteLength / 3) * 4,
    bytesAfter: sent,
    base64After: Math.ceil(sent / 3) * 4,
    shrink: Math.round((bytes.byteLength / sent) * 10) / 10,
    segments,
  };
}

async function main(): Promise<void> {
  const args = readArgs();
  if (args.worker) {
    await useNormaliser(args['bundle-dir']);
    return worker(args.worker);
  }
  const runs = args.quick ? 1 : Number(args.runs);
  const dir = await mkdtemp(join(tmpdir(), 'metahook-bench-audio-'));
  try {
    if (args.bundled) {
      bundleDir = join(dir, 'bundle');
      await buildBundle(bundleDir);
    }
    await useNormaliser(bundleDir);
    const mp3Seconds = args.quick ? 60 : 600;
    const wavSeconds = args.quick ? 30 : 284; // 284 s of 44.1 kHz 16-bit stereo = 50.1 MB
    const cases: Case[] = [
      { name: `${mp3Seconds / 60}-min stereo MP3 (44.1 kHz, 128 kbps)`, file: join(dir, 'long.mp3'), format: 'mp3', audioSeconds: mp3Seconds },
      { name: `${(wavSeconds * 176_400 / 1e6).toFixed(1)} MB stereo WAV (44.1 kHz, 16-bit, ${wavSeconds} s)`, file: join(dir, 'big.wav'), format: 'wav', audioSeconds: wavSeconds },
    ];
    await writeFile(cases[0]!.file, await makeMp3({ seconds: mp3Seconds }));
    await writeFile(cases[1]!.file, makeWav({ seconds: wavSeconds, sampleRate: 44_100, channels: 2 }));
    // Wall times move with the machine's load: the report says what it was, before and after.
    const loadBefore = loadavg()[0]!;
    const results = [];
    for (const c of cases) results.push(await measure(c, runs));
    const loadAfter = loadavg()[0]!;
    const { stdout: version } = await run(FFMPEG_PATH, ['-version']);
    const report = {
      command: `npm run bench:audio -- --runs ${runs}${args.quick ? ' --quick' : ''}${args.bundled ? ' --bundled' : ''}`,
      loadAverage: { before: Math.round(loadBefore * 100) / 100, after: Math.round(loadAfter * 100) / 100 },
      ffmpeg: version.split('\n')[0],
      output: 'mono, 16 kHz, 32 kbps CBR MP3 (MPEG-2 Layer III); ffmpeg decodes to PCM, LAME 3.100 in WebAssembly encodes in a worker thread, one encoder per segment',
      results,
    };
    if (args.out) await writeFile(args.out, JSON.stringify(report, null, 2));
    console.log(render(report));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function render(report: {
  command: string;
  ffmpeg?: string;
  loadAverage?: { before: number; after: number };
  results: Awaited<ReturnType<typeof measure>>[];
}): string {
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  const load = report.loadAverage ? `; 1-min load average ${report.loadAverage.before} before, ${report.loadAverage.after} after` : '';
  const lines = [
    `Audio normalisation (${report.command}; ${report.ffmpeg ?? ''}${load})`,
    '',
    '| Input | median (min) of runs | first run | CPU per run (median) | per 10 min of audio | peak RSS: Node / ffmpeg | to the model, bytes (base64) before -> after | smaller |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.results.map(
      (r) =>
        `| ${r.name} | ${r.medianMs} ms (${r.minMs} ms) of ${r.runs} | ${r.firstMs ?? 'n/a'} ms | ${r.cpuMedianMs ?? 'n/a'} ms | ${r.msPerTenMinutesOfAudio} ms | ${r.nodePeakRssMb} MB / ${r.ffmpegPeakRssMb ?? 'n/a'} MB | ${mb(r.bytesBefore)} (${mb(r.base64Before)}) -> ${mb(r.bytesAfter)} (${mb(r.base64After)}) | ${r.shrink}x |`,
    ),
  ];
  return lines.join('\n');
}

// Run as a script (npm run bench:audio, or a child of bench/run.ts); imported, only `render` is used.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  // Under tsx a MessagePort stays open after the metadata parser's worker thread has run (seen
  // 2026-12-02; the worker itself is unref'd), so the process would never end on its own.
  process.stdout.write('', () => process.exit(process.exitCode ?? 0));
}
