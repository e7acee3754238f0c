// The extractor's worker threads as its Lambda bundle ships them: the exact esbuild command the
// CDK afterBundling hook runs (lib/handler-bundling.ts companionBundleCommand) writes
// metadata-parse-worker.mjs and mp3-encode-worker.mjs, the modules that start them are bundled
// beside them like the handler, and a parse and a normalisation through the bundled files work
// (the bundled code finds the .mjs next to itself, not the .ts). The MP3 encoder's WebAssembly is
// inlined in its worker: no .wasm file has to reach the Lambda, and nothing in it is CPU-specific.
import { execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { CDK_BUNDLING } from '../../bench/cold-start';
import { REPO_ROOT } from '../../lib/constructs/pipeline-function';
import { COMPANION_BUNDLES, companionBundleCommand } from '../../lib/handler-bundling';
import { resolveSettings } from '../../lib/settings';
import { imageMetadataContainer } from '../../lambdas/adapters/metadata-parser/image-metadata-segments';
import type * as ParserModule from '../../lambdas/adapters/metadata-parser/metadata-parser';
import type * as NormaliserModule from '../../lambdas/adapters/audio-normaliser';
import { parseMp3Frames } from '../../lambdas/adapters/audio/mp3-frames';
import { FFMPEG_PATH } from '../support/audio-files';

const out = mkdtempSync(join(tmpdir(), 'metahook-parse-worker-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** One module bundled into `out` the way the handler is (CDK_BUNDLING), under the file name given. */
async function bundleBeside(entry: string, file: string): Promise<string> {
  await build({
    ...CDK_BUNDLING,
    mainFields: [...CDK_BUNDLING.mainFields],
    external: [...CDK_BUNDLING.external],
    entryPoints: [join(REPO_ROOT, entry)],
    outfile: join(out, file),
  });
  return pathToFileURL(join(out, file)).href;
}

describe('bundled extractor workers', () => {
  it('the companion commands build both workers; the MP3 encoder carries its WebAssembly inline', () => {
    const companions = COMPANION_BUNDLES.extractor ?? [];
    expect(companions.map((companion) => companion.file)).toEqual(['metadata-parse-worker.mjs', 'mp3-encode-worker.mjs']);
    for (const companion of companions) execSync(companionBundleCommand(REPO_ROOT, companion, out), { stdio: 'pipe' });
    const encoder = readFileSync(join(out, 'mp3-encode-worker.mjs'), 'utf8');
    // One WebAssembly module, the MP3 encoder's: the package's Ogg Vorbis one (440 KB) is tree-shaken away.
    expect(encoder.split('data:application/wasm;base64,').length - 1).toBe(1);
    expect(encoder.length).toBeLessThan(250 * 1024);
    expect(readdirSync(out).filter((name) => name.endsWith('.wasm'))).toEqual([]);
  }, 120_000);

  it('a bundled parser uses the bundled parse worker', async () => {
    const bundled = (await import(await bundleBeside('lambdas/adapters/metadata-parser/metadata-parser.ts', 'index.mjs'))) as typeof ParserModule;
    const parser = new bundled.MetadataParser(resolveSettings().decode);
    try {
      const photo = new Uint8Array(readFileSync(join(REPO_ROOT, 'test/fixtures/photo-iptc.jpg')));
      const segments = await parser.parseImage(imageMetadataContainer(photo, 'jpeg', 1024 * 1024).bytes!);
      expect(segments.iptc?.Caption).toBe('Sun over a green hill under a clear blue sky');
      expect(segments.ifd0?.Model).toBe('Canon EOS 5D Mark IV');
    } finally {
      await parser.close();
    }
  }, 120_000);

  it('a bundled normaliser encodes in the bundled MP3 worker: a standalone mono 16 kHz MP3', async () => {
    const bundled = (await import(await bundleBeside('lambdas/adapters/audio-normaliser.ts', 'audio-normaliser.mjs'))) as typeof NormaliserModule;
    const normaliser = new bundled.FfmpegAudioNormaliser({ ffmpegPath: FFMPEG_PATH, timeBudgetMs: 20_000 });
    const bytes = new Uint8Array(readFileSync(join(REPO_ROOT, 'test/fixtures/tagged.mp3')));

    const audio = await normaliser.normalise({ bytes, format: 'mp3' }, { segmentSeconds: 600, maxDurationSeconds: 3600 });

    expect(audio.segments).toHaveLength(1);
    const { frames } = parseMp3Frames(audio.segments[0]!.bytes);
    expect(frames.length).toBeGreaterThan(50);
    expect(frames.every((frame) => frame.sampleRate === 16_000 && frame.channels === 1 && frame.layer === 3)).toBe(true);
  }, 120_000);
});
