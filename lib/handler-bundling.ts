// How every Lambda handler is bundled, as plain data: read by the CDK construct
// (lib/constructs/pipeline-function.ts), the benchmarks (bench/cold-start.ts) and the bundle
// allowlist check (scripts/check-bundles.ts), so what is measured and checked is what deploys.

/** CommonJS dependencies inside an ESM bundle still call require(). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __metahookCreateRequire } from 'node:module'; const require = __metahookCreateRequire(import.meta.url);";

/**
 * Never inlined: sharp is native and installed beside the bundle; supports-color is an optional
 * require of debug. The AWS SDK v3 IS bundled (issue 11 item 2): the Node 22 runtime ships its
 * own SDK at a version we do not choose, and one older than @aws-sdk/client-bedrock-runtime
 * 3.943.0 has no AudioBlock and serialises an audio content block as `{}`. Bundling also runs the
 * exact client we tested, and tree-shaken and minified it initialises faster (BENCHMARKS.md).
 */
export const EXTERNAL_MODULES: readonly string[] = ['sharp', 'supports-color'];

/** First @aws-sdk/client-bedrock-runtime release with the Converse AudioBlock. */
export const MIN_BEDROCK_RUNTIME_SDK = '3.943.0';

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
