// How every Lambda handler is bundled, as plain data: read by the CDK construct
// (lib/constructs/pipeline-function.ts), the benchmarks (bench/cold-start.ts) and the bundle
// allowlist check (scripts/check-bundles.ts), so what is measured and checked is what deploys.

/** CommonJS dependencies inside an ESM bundle still call require(). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __metahookCreateRequire } from 'node:module'; const require = __metahookCreateRequire(import.meta.url);";

/**
 * Never inlined: the Node 22 runtime ships the AWS SDK v3; sharp is native and installed
 * beside the bundle, as is @ffmpeg-installer (it finds its per-platform binary on disk);
 * supports-color is an optional require of debug.
 */
export const EXTERNAL_MODULES: readonly string[] = ['@aws-sdk/*', 'sharp', '@ffmpeg-installer/*', 'supports-color'];

export const HANDLER_BUNDLING = {
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  external: EXTERNAL_MODULES,
} as const;
