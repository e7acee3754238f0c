// How every Lambda handler is bundled, as plain data: read by the CDK construct
// (lib/constructs/pipeline-function.ts), the benchmarks (bench/cold-start.ts) and the bundle
// allowlist check (scripts/check-bundles.ts), so what is measured and checked is what deploys.

/** CommonJS dependencies inside an ESM bundle still call require(). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __metahookCreateRequire } from 'node:module'; const require = __metahookCreateRequire(import.meta.url);";

/**
 * Never inlined: sharp is native and installed beside the bundle, as is @ffmpeg-installer (it
 * finds its per-platform ffmpeg binary on disk). The AWS SDK v3 IS bundled (issue 11 item 2): the
 * Node 22 runtime ships its own SDK at a version we do not choose, and one older than
 * @aws-sdk/client-bedrock-runtime 3.943.0 has no AudioBlock and serialises an audio content block
 * as `{}`. Bundling also runs the exact client we tested, and tree-shaken and minified it
 * initialises faster (BENCHMARKS.md).
 */
export const EXTERNAL_MODULES: readonly string[] = ['sharp', '@ffmpeg-installer/*'];

/**
 * Node built-ins that bundled ESM packages import (the AWS SDK's dist-es, Powertools' Tracer), mapped
 * to one-line CommonJS shims in lib/builtin-shims/ that return process.getBuiltinModule(). An ESM
 * `import` of a built-in makes Node reflect every export of its namespace, which runs lazy getters
 * require() never touches: node:http's WebSocket/CloseEvent/MessageEvent load all of undici, node:crypto's
 * webcrypto loads WebCrypto, node:util and node:process load dozens of internal modules. Measured on
 * Node 22: ESM import of node:http loads 109 internal modules, require() 38 (BENCHMARKS.md cold start).
 * Only built-ins without subpath imports are listed (an alias also maps `node:x/sub`).
 */
export const BUILTIN_SHIMS: Readonly<Record<string, string>> = Object.fromEntries(
  ['http', 'crypto', 'util', 'process'].flatMap((name) => [
    [name, `./lib/builtin-shims/${name}.cjs`],
    [`node:${name}`, `./lib/builtin-shims/${name}.cjs`],
  ]),
);

/**
 * The AWS SDK's default credential and token chains, replaced in the bundles by the parts a Lambda
 * function can use (each shim in lib/bundle-shims/ says why): with them go the STS, SSO and SSO
 * OIDC clients, 134 KB of the intake's 696 KB bundle, parsed at every cold start.
 */
export const CREDENTIAL_PROVIDER_SHIM: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lib/bundle-shims/lambda-credential-provider.ts',
  '@aws-sdk/token-providers': './lib/bundle-shims/lambda-token-provider.ts',
};

export interface PackageShim {
  /** The stand-in, relative to the repository root. */
  readonly shim: string;
  /** The only packages whose code may import it: the shim covers what they call and no more. */
  readonly importers: readonly string[];
}

/**
 * Packages that third-party code loads at init only to use a sliver of, replaced in the bundles by
 * the sliver (each shim in lib/bundle-shims/ says why; test/unit/package-shims.test.ts checks each
 * against the real package). scripts/check-bundles.ts fails a bundle in which anything outside
 * `importers` imports one. Together 27-32 KB of every bundle and ~10 ms of its cold start
 * (BENCHMARKS.md 6f).
 */
export const PACKAGE_SHIMS: Readonly<Record<string, PackageShim>> = {
  semver: { shim: './lib/bundle-shims/semver-gte.ts', importers: ['aws-xray-sdk-core'] },
  debug: { shim: './lib/bundle-shims/debug-off.ts', importers: ['@tokenizer/inflate', 'music-metadata'] },
};

/**
 * Code that runs at build time only and must stay out of every bundle (scripts/check-bundles.ts
 * fails one that holds it), each with the reason. Every cold start parses what a bundle holds.
 */
export const BUILD_TIME_ONLY: Readonly<Record<string, string>> = {
  'node_modules/zod/v4/core/to-json-schema.js':
    "zod's JSON Schema generator: the metadata tool's schema is generated into lambdas/core/tool-input-schemas.json (npm run tool-schemas)",
};

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
  /** esbuild `alias`; paths are relative to the repository root (esbuild's working directory in every build). */
  alias: {
    ...BUILTIN_SHIMS,
    ...CREDENTIAL_PROVIDER_SHIM,
    ...Object.fromEntries(Object.entries(PACKAGE_SHIMS).map(([name, { shim }]) => [name, shim])),
  },
} as const;

/** The extractor's metadata parser worker, as the bundle ships it beside index.mjs. */
export const PARSE_WORKER_BUNDLE_FILE = 'metadata-parse-worker.mjs';

/** The extractor's MP3 encoder worker (LAME in WebAssembly, the .wasm inlined), beside index.mjs. */
export const MP3_ENCODE_WORKER_BUNDLE_FILE = 'mp3-encode-worker.mjs';

export interface CompanionBundle {
  /** File name beside the handler's index.mjs. */
  readonly file: string;
  /** Entry point, relative to the repository root. */
  readonly entry: string;
}

/**
 * Files bundled from their own entry beside a handler's index.mjs: a worker thread needs a file of
 * its own to run. Built with the same options as the handler (companionBundleCommand).
 */
export const COMPANION_BUNDLES: Readonly<Record<string, readonly CompanionBundle[]>> = {
  extractor: [
    { file: PARSE_WORKER_BUNDLE_FILE, entry: 'lambdas/adapters/metadata-parser/parse-worker.ts' },
    { file: MP3_ENCODE_WORKER_BUNDLE_FILE, entry: 'lambdas/adapters/audio/mp3-encode-worker.ts' },
  ],
};

/** The esbuild command (the project's own binary) that writes one companion into `outputDir`, HANDLER_BUNDLING's options as flags. */
export function companionBundleCommand(repoRoot: string, companion: CompanionBundle, outputDir: string): string {
  const root = repoRoot.endsWith('/') ? repoRoot : `${repoRoot}/`;
  const flags = [
    '--bundle',
    '--platform=node',
    `--format=${HANDLER_BUNDLING.format}`,
    `--target=${HANDLER_BUNDLING.target}`,
    ...(HANDLER_BUNDLING.minify ? ['--minify'] : []),
    ...(HANDLER_BUNDLING.sourcemap ? ['--sourcemap'] : []),
    `--sources-content=${HANDLER_BUNDLING.sourcesContent}`,
    `--main-fields=${HANDLER_BUNDLING.mainFields.join(',')}`,
    `"--banner:js=${HANDLER_BUNDLING.banner}"`,
    ...HANDLER_BUNDLING.external.map((pattern) => `"--external:${pattern}"`),
    ...Object.entries(HANDLER_BUNDLING.alias).map(([from, to]) => `"--alias:${from}=${root}${to.slice(2)}"`),
    '--log-level=error',
  ];
  return [`"${root}node_modules/.bin/esbuild"`, `"${root}${companion.entry}"`, ...flags, `"--outfile=${outputDir}/${companion.file}"`].join(' ');
}
