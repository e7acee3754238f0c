// Pre-deploy check of what only the Lambda (linux-arm64) can run: synthesizes the stack WITH
// bundling, as `cdk deploy` does, and checks the extractor's asset directory:
//   1. the native packages are the linux-arm64 builds (ELF e_machine = AArch64), not the build machine's;
//   2. ffmpeg keeps its execute bit (npm 11 does not run @ffmpeg-installer's `chmod u+x`
//      postinstall by default, so the bit must come from the tarball itself);
//   3. every function's unzipped asset is within Lambda's 250 MB limit;
//   4. the extractor's worker bundles are beside index.mjs, and the MP3 encoder's carries its
//      WebAssembly inline (no .wasm to find on disk; WebAssembly is the same on every CPU), and
//      encodes with the asset's own file;
//   5. when qemu-aarch64(-static) is installed, the shipped arm64 ffmpeg really runs the production
//      normaliser (same arguments, same output checks) on the test fixtures.
// Needs the npm registry (bundling installs sharp and ffmpeg for linux-arm64). Not in `npm test`.
// Run: npm run check:arm64-assets        (exit 1 on any problem; step 5 is skipped without qemu)
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { pathToFileURL } from 'node:url';
import { FfmpegAudioNormaliser } from '../lambdas/adapters/audio-normaliser';
import { parseMp3Frames } from '../lambdas/adapters/audio/mp3-frames';
import { Mp3SegmentEncoder } from '../lambdas/adapters/audio/mp3-segment-encoder';
import { COMPANION_BUNDLES, MP3_ENCODE_WORKER_BUNDLE_FILE } from '../lib/handler-bundling';
import { parseDeployConfig } from '../lib/deploy-config';
import { REPO_ROOT } from '../lib/constructs/pipeline-function';
import { MetahookStack } from '../lib/metahook-stack';
import { tonePcm16k } from '../test/support/audio-files';

// Lambda quotas: "Deployment package (.zip file archive) size: 250 MB (unzipped)"
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;
// ELF header: e_machine (2 bytes, little-endian) at offset 18; EM_AARCH64 = 183 (System V ABI, AArch64 supplement).
const EM_AARCH64 = 183;

/** The ELF machine of a binary, or undefined when it is not an ELF file. */
export function elfMachine(bytes: Uint8Array): number | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  return bytes[18]! | (bytes[19]! << 8);
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}

function findQemu(): string | undefined {
  for (const name of ['qemu-aarch64-static', 'qemu-aarch64']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return undefined;
}

async function main(): Promise<void> {
  const problems: string[] = [];
  const pass = (message: string) => console.log(`PASS  ${message}`);
  const fail = (message: string) => {
    problems.push(message);
    console.log(`FAIL  ${message}`);
  };

  const outdir = mkdtempSync(join(tmpdir(), 'metahook-arm64-'));
  try {
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    const app = new App({ outdir, context: cdkJson.context });
    const config = parseDeployConfig({ imageDownscaling: true, audioNormalisation: true }, { region: 'us-east-1' });
    new MetahookStack(app, 'Metahook-arm64check', { env: { account: '123456789012', region: 'us-east-1' }, config });
    console.log(`Synthesizing with bundling into ${outdir} (installs linux-arm64 native packages from the npm registry)...`);
    app.synth();

    const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.')).map((name) => join(outdir, name));
    for (const asset of assets) {
      const bytes = directoryBytes(asset);
      const label = `${asset.slice(outdir.length + 1, outdir.length + 20)}… ${(bytes / 1024 / 1024).toFixed(1)} MB unzipped`;
      if (bytes <= LAMBDA_UNZIPPED_LIMIT_BYTES) pass(`${label} (limit 250 MB)`);
      else fail(`${label} is over Lambda's 250 MB unzipped limit`);
    }

    const extractor = assets.find((asset) => existsSync(join(asset, 'node_modules', '@ffmpeg-installer')));
    if (!extractor) {
      fail('no asset holds node_modules/@ffmpeg-installer: audio normalisation would be off on AWS');
      return;
    }
    const installer = join(extractor, 'node_modules', '@ffmpeg-installer');
    const platforms = readdirSync(installer).filter((name) => name !== 'ffmpeg');
    if (platforms.length === 1 && platforms[0] === 'linux-arm64') pass('@ffmpeg-installer ships only its linux-arm64 package');
    else fail(`@ffmpeg-installer platform packages in the asset: ${platforms.join(', ') || 'none'} (want exactly linux-arm64)`);

    const ffmpeg = join(installer, 'linux-arm64', 'ffmpeg');
    if (!existsSync(ffmpeg)) {
      fail(`${ffmpeg} is missing`);
      return;
    }
    const machine = elfMachine(readFileSync(ffmpeg).subarray(0, 20));
    if (machine === EM_AARCH64) pass('ffmpeg is an AArch64 ELF binary');
    else fail(`ffmpeg's ELF machine is ${machine} (want ${EM_AARCH64}, AArch64)`);
    // The CLI zips assets keeping each file's stat mode (aws-cdk's writeZipFile passes
    // `mode: stat.mode` to yazl), so the bit seen here is the bit Lambda unpacks.
    const mode = statSync(ffmpeg).mode;
    if ((mode & 0o111) !== 0) pass(`ffmpeg is executable (mode ${(mode & 0o777).toString(8)})`);
    else fail(`ffmpeg has no execute bit (mode ${(mode & 0o777).toString(8)}): spawn would fail with EACCES`);

    const sharpPlatforms = existsSync(join(extractor, 'node_modules', '@img'))
      ? readdirSync(join(extractor, 'node_modules', '@img')).filter((name) => name.startsWith('sharp-') && !name.startsWith('sharp-libvips-'))
      : [];
    if (sharpPlatforms.includes('sharp-linux-arm64')) pass(`sharp ships ${sharpPlatforms.join(', ')}`);
    else fail(`sharp's platform packages in the asset: ${sharpPlatforms.join(', ') || 'none'} (want sharp-linux-arm64)`);

    for (const companion of COMPANION_BUNDLES.extractor ?? []) {
      if (existsSync(join(extractor, companion.file))) pass(`${companion.file} is beside the extractor's index.mjs`);
      else fail(`${companion.file} is missing from the extractor's asset: its worker thread could not start`);
    }
    const encoderWorker = join(extractor, MP3_ENCODE_WORKER_BUNDLE_FILE);
    if (existsSync(encoderWorker)) {
      if (readFileSync(encoderWorker, 'utf8').includes('data:application/wasm;base64,')) pass(`${MP3_ENCODE_WORKER_BUNDLE_FILE} holds LAME's WebAssembly inline`);
      else fail(`${MP3_ENCODE_WORKER_BUNDLE_FILE} does not hold LAME's WebAssembly inline`);
      // One second of a 440 Hz tone through the asset's own worker file.
      const encoder = new Mp3SegmentEncoder({ sampleRate: 16_000, bitrateKbps: 32, segmentSamples: 16_000 * 60, workerUrl: pathToFileURL(encoderWorker) });
      try {
        encoder.write(tonePcm16k(1));
        const { segments } = await encoder.end();
        const frames = segments.flatMap((segment) => parseMp3Frames(segment.bytes).frames);
        // 16,000 samples plus LAME's 1,105 of delay and the last frame's padding: 30 frames of 576.
        if (frames.length === 30 && frames.every((frame) => frame.sampleRate === 16_000 && frame.channels === 1)) pass(`the asset's ${MP3_ENCODE_WORKER_BUNDLE_FILE} encoded 1 s into ${frames.length} mono 16 kHz MP3 frames`);
        else fail(`the asset's ${MP3_ENCODE_WORKER_BUNDLE_FILE} wrote ${frames.length} frames, not 30 frames of mono 16 kHz MP3`);
      } catch (error) {
        fail(`the asset's ${MP3_ENCODE_WORKER_BUNDLE_FILE} failed: ${(error as Error).message}`);
      } finally {
        await encoder.close();
      }
    }

    const qemu = findQemu();
    if (!qemu) {
      console.log('SKIP  running the arm64 ffmpeg: install qemu-user-static (Debian: apt-get install qemu-user-static) to run it');
      return;
    }
    // The normaliser spawns one executable: a wrapper that runs the shipped binary under qemu.
    const wrapper = join(outdir, 'ffmpeg-arm64');
    writeFileSync(wrapper, `#!/bin/sh\nexec "${qemu}" "${ffmpeg}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    const normaliser = new FfmpegAudioNormaliser({ ffmpegPath: wrapper, timeBudgetMs: 120_000 });
    for (const [fixture, format] of [['tagged.mp3', 'mp3'], ['stereo-44k.wav', 'wav'], ['short.flac', 'flac'], ['clip.ogg', 'ogg']] as const) {
      const bytes = readFileSync(join(REPO_ROOT, 'test', 'fixtures', fixture));
      try {
        const result = await normaliser.normalise({ bytes, format }, { segmentSeconds: 2400, maxDurationSeconds: 7200 });
        const frames = result.segments.flatMap((segment) => parseMp3Frames(segment.bytes).frames);
        const mono16k = frames.length > 0 && frames.every((frame) => frame.sampleRate === 16_000 && frame.channels === 1);
        if (mono16k) pass(`arm64 ffmpeg normalised ${fixture}: ${frames.length} mono 16 kHz MP3 frames`);
        else fail(`arm64 ffmpeg output for ${fixture} is not mono 16 kHz MP3`);
      } catch (error) {
        fail(`arm64 ffmpeg failed on ${fixture}: ${(error as Error).message}`);
      }
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    if (problems.length > 0) {
      console.log(`\n${problems.length} problem(s).`);
      process.exitCode = 1;
    } else {
      console.log('\nAll checks passed.');
    }
  }
}

await main();
