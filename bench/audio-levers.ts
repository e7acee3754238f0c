// `npm run bench:audio-levers`: which ffmpeg settings make audio normalisation cheaper, measured
// in instructions, not wall time. On a shared machine wall and CPU time swing with the other
// sessions' load; the instructions ffmpeg executes (valgrind callgrind) do not. Each variant
// encodes the same 60 s of 44.1 kHz stereo 128 kbps MP3 (the bench:audio input, cut to a
// minute: callgrind runs ~50x slower) and its output is checked: MPEG Layer III, 16 kHz, mono,
// and whether every frame has the same bitrate (CBR, what the normaliser splits and bounds).
//   npm run bench:audio-levers [-- --seconds 60]
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { normaliserFfmpegArgs } from '../lambdas/adapters/audio-normaliser';
import { parseMp3Frames } from '../lambdas/adapters/audio/mp3-frames';
import { FFMPEG_PATH, makeMp3 } from '../test/support/audio-files';

const { seconds } = parseArgs({ options: { seconds: { type: 'string', default: '60' } } }).values;
const MAX_SECONDS = 7200;
// The normaliser now encodes in a WebAssembly LAME worker (audio/mp3-segment-encoder.ts) from the
// float PCM ffmpeg writes; these levers are ffmpeg's own libmp3lame behind the same decode and filters.
const decode = normaliserFfmpegArgs('mp3', MAX_SECONDS);
const production = [
  ...decode.slice(0, decode.indexOf('-c:a')),
  '-c:a', 'libmp3lame', '-b:a', '32k', '-compression_level', '7',
  '-reservoir', '0', '-write_xing', '0', '-id3v2_version', '0', '-write_id3v1', '0',
  '-f', 'mp3', 'pipe:1',
];

/** The production command line with its audio filter and encoder options replaced. */
function variant(audioOptions: string[], encoderOptions: string[] = ['-c:a', 'libmp3lame', '-b:a', '32k', '-compression_level', '7']): string[] {
  const head = production.slice(0, production.indexOf('-t') + 2);
  const tail = production.slice(production.indexOf('-reservoir'));
  return [...head, ...audioOptions, ...encoderOptions, ...tail];
}

/** Options before the first `-f` (the forced demuxer) apply to the input: its decoder. */
function withInputOption(options: string[], args: string[]): string[] {
  const at = args.indexOf('-f');
  return [...args.slice(0, at), ...options, ...args.slice(at)];
}

const VARIANTS: readonly { readonly name: string; readonly args: readonly string[] }[] = [
  { name: 'native libmp3lame behind the normaliser\'s decode (normaliserFfmpegArgs)', args: production },
  { name: 'before: -ac 1 -ar 16000, -compression_level 7', args: variant(['-ac', '1', '-ar', '16000']) },
  { name: '-compression_level 9', args: variant(['-ac', '1', '-ar', '16000'], ['-c:a', 'libmp3lame', '-b:a', '32k', '-compression_level', '9']) },
  { name: 'ABR 32k (-abr 1)', args: variant(['-ac', '1', '-ar', '16000'], ['-c:a', 'libmp3lame', '-b:a', '32k', '-abr', '1', '-compression_level', '7']) },
  { name: 'VBR -q:a 7 (no fixed bitrate)', args: variant(['-ac', '1', '-ar', '16000'], ['-c:a', 'libmp3lame', '-q:a', '7', '-compression_level', '7']) },
  { name: 'encoder input s16p', args: variant(['-ac', '1', '-ar', '16000', '-sample_fmt', 's16p']) },
  { name: 'soxr resampler', args: variant(['-af', 'aresample=16000:resampler=soxr,aformat=channel_layouts=mono']) },
  { name: 'swr, 16 taps (resample, then down-mix)', args: variant(['-af', 'aresample=16000:filter_size=16,aformat=channel_layouts=mono']) },
  { name: 'down-mix, then swr 32 taps', args: variant(['-af', 'aformat=channel_layouts=mono,aresample=16000']) },
  { name: 'fixed-point MP3 decoder (-c:a mp3)', args: withInputOption(['-c:a', 'mp3'], variant(['-ac', '1', '-ar', '16000'])) },
  { name: 'decode + resample only (no encoder)', args: [...production.slice(0, production.indexOf('-t') + 2), '-ac', '1', '-ar', '16000', '-f', 'null', '-'] },
  { name: '-compression_level 0 (slowest; last, callgrind takes minutes)', args: variant(['-ac', '1', '-ar', '16000'], ['-c:a', 'libmp3lame', '-b:a', '32k', '-compression_level', '0']) },
];

/** Runs ffmpeg under callgrind: instructions executed (Ir) and the bytes it wrote. */
function instructions(args: readonly string[], input: string): Promise<{ ir: number; out: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', FFMPEG_PATH, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ir = Number(/Collected : (\d+)/.exec(stderr)?.[1]);
      if (code !== 0 || !Number.isFinite(ir)) return reject(new Error(`ffmpeg ${args.join(' ')} failed (${code}): ${stderr.slice(-400)}`));
      resolve({ ir, out: Buffer.concat(out) });
    });
    createReadStream(input).pipe(child.stdin);
  });
}

async function main(): Promise<void> {
  if (!existsSync('/usr/bin/valgrind')) throw new Error('valgrind is needed (apt-get install valgrind): instruction counts come from callgrind');
  const dir = await mkdtemp(join(tmpdir(), 'metahook-audio-levers-'));
  try {
    const input = join(dir, 'in.mp3');
    await writeFile(input, await makeMp3({ seconds: Number(seconds) }));
    const rows: string[] = [];
    let baseline: number | undefined;
    for (const v of VARIANTS) {
      const { ir, out } = await instructions(v.args, input);
      baseline ??= ir;
      const frames = out.length > 0 ? parseMp3Frames(out).frames : [];
      const format = frames.length === 0
        ? 'no output'
        : `${frames.every((f) => f.layer === 3 && f.sampleRate === 16_000 && f.channels === 1) ? 'mono 16 kHz MP3' : 'NOT mono 16 kHz'}, ${new Set(frames.map((f) => f.bitrateKbps)).size === 1 ? `CBR ${frames[0]!.bitrateKbps} kbps` : 'variable bitrate'}`;
      rows.push(`| ${v.name} | ${(ir / 1e9).toFixed(3)} G | ${((ir / baseline) * 100).toFixed(1)}% | ${out.length} | ${format} |`);
      console.error(rows.at(-1));
    }
    const { stdout } = await new Promise<{ stdout: string }>((resolve) => {
      const c = spawn(FFMPEG_PATH, ['-version']);
      let s = '';
      c.stdout.on('data', (d: Buffer) => (s += d.toString()));
      c.on('close', () => resolve({ stdout: s }));
    });
    console.log(
      [
        `ffmpeg settings for ${seconds} s of 44.1 kHz stereo 128 kbps MP3 (npm run bench:audio-levers; ${stdout.split('\n')[0]})`,
        '',
        '| variant | instructions | of production | bytes out | output |',
        '| --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
