// Bench phase: cold start. Bundles each handler with the options the CDK uses (lib/handler-bundling.ts:
// ESM, minify, node22 target, the AWS SDK bundled, sharp external, the createRequire banner, source
// map), reports the minified size, then loads each bundle in fresh Node processes (round-robin over the rows), with the
// environment and NODE_OPTIONS the synthesized stack gives that function (none by default), and
// times the import, as deployed and with the opt-in --enable-source-maps (sourceMapStackTraces). "previous" rows leave @aws-sdk/* external (loaded from node_modules, as the runtime's
// copy was before issue 11 item 2) so the change stays measured.
import { execFile } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { HANDLER_ENTRIES, REPO_ROOT, type HandlerName } from '../lib/constructs/pipeline-function';
import { summarize, type Summary } from './lib/stats';
import { HANDLER_BUNDLING } from '../lib/handler-bundling';
import { deployedFunctions, lambdaRuntimeEnvironment } from './lib/stack-environment';

const run = promisify(execFile);

/** Where bundles go: inside the repo so sharp (and, in "previous" rows, `@aws-sdk/*`) resolve from node_modules, as /var/runtime does on Lambda. */
export const BUNDLE_DIR = join(REPO_ROOT, 'bench', '.out', 'bundles');

/** Same options as PipelineFunction's `bundling` (kept in step by hand; see BENCHMARKS.md). */
export const CDK_BUNDLING = {
  bundle: true,
  platform: 'node',
  format: HANDLER_BUNDLING.format,
  target: HANDLER_BUNDLING.target,
  minify: HANDLER_BUNDLING.minify,
  sourcemap: HANDLER_BUNDLING.sourcemap,
  sourcesContent: HANDLER_BUNDLING.sourcesContent,
  mainFields: HANDLER_BUNDLING.mainFields,
  banner: { js: HANDLER_BUNDLING.banner },
  external: HANDLER_BUNDLING.external,
  alias: Object.fromEntries(Object.entries(HANDLER_BUNDLING.alias).map(([from, to]) => [from, join(REPO_ROOT, to)])),
  logLevel: 'error',
} as const;

export interface Bundle {
  readonly file: string;
  /** Packages left out of the bundle (loaded from node_modules at init). */
  readonly externals: string[];
  /** Minified bytes per package or source folder, largest first. */
  readonly composition: Array<{ readonly part: string; readonly bytes: number }>;
}

/** node_modules/<pkg>/... -> pkg; lambdas/core/x.ts -> lambdas/core */
function partOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (match) return match[1]!;
  return input.split('/').slice(0, 2).join('/');
}

export async function bundleHandler(
  name: HandlerName,
  options: { extraExternal?: string[]; dir?: string; sdkExternal?: boolean } = {},
): Promise<Bundle> {
  const dir = join(BUNDLE_DIR, options.dir ?? name);
  const outfile = join(dir, 'index.mjs');
  await mkdir(dir, { recursive: true });
  const result = await build({
    ...CDK_BUNDLING,
    mainFields: [...CDK_BUNDLING.mainFields],
    external: [...CDK_BUNDLING.external, ...(options.sdkExternal ? ['@aws-sdk/*'] : []), ...(options.extraExternal ?? [])],
    entryPoints: [join(REPO_ROOT, HANDLER_ENTRIES[name])],
    outfile,
    metafile: true,
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('index.mjs'))![1];
  const parts = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    parts.set(partOf(input), (parts.get(partOf(input)) ?? 0) + bytesInOutput);
  }
  const externals = [...new Set(output.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path))];
  return {
    file: outfile,
    externals,
    composition: [...parts].map(([part, bytes]) => ({ part, bytes })).sort((a, b) => b.bytes - a.bytes),
  };
}

/** Reached only through createMetadataProvider's dynamic import when METAHOOK_MODEL_PROVIDER=local. */
export const PROPOSED_EXTRACTOR_EXTERNALS = ['music-metadata', 'exifr'];

/**
 * The environment `name`'s function starts with on AWS: its Environment.Variables from the
 * synthesized stack (bench/lib/stack-environment.ts) plus what the Lambda runtime sets, so init
 * runs as deployed (Tracer on, X-Ray SDK in its Lambda mode). NODE_OPTIONS is returned apart, as
 * the flags of the "as deployed" probe, so the other probe can run without them.
 */
export function deployedEnvironment(name: HandlerName, overrides: Record<string, string> = {}): { env: Record<string, string>; nodeFlags: string[] } {
  const fn = deployedFunctions().get(name)!;
  const { NODE_OPTIONS: nodeOptions = '', ...variables } = fn.environment;
  return {
    env: { ...lambdaRuntimeEnvironment(name, fn, BUNDLE_DIR), ...variables, AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1', ...overrides },
    nodeFlags: nodeOptions.split(/\s+/).filter((flag) => flag.length > 0),
  };
}

/**
 * Runs in a fresh process: time from just before import() of the bundle to its module being ready.
 * Before it loads the handler, the Lambda Node.js runtime interface client has already required
 * node:http and built its keep-alive Agent for the Runtime API (aws/aws-lambda-nodejs-runtime-interface-client,
 * src/client/rapid-client.ts `cjsRequire("node:http")`, and RuntimeClient in earlier releases), so
 * the probe does the same first: what that loads is not the handler's init on Lambda.
 */
const INIT_PROBE = `
const { Agent } = process.getBuiltinModule('node:http');
new Agent({ keepAlive: true, maxSockets: 1 });
const cpu = process.cpuUsage();
const started = performance.now();
const mod = await import(process.env.BENCH_BUNDLE);
const ready = performance.now();
const used = process.cpuUsage(cpu);
if (typeof mod.handler !== 'function') throw new Error('bundle exports no handler');
process.stdout.write(JSON.stringify({ initMs: ready - started, cpuMs: (used.user + used.system) / 1000, sinceProcessStartMs: ready, rssMb: process.memoryUsage().rss / 1048576 }));
`;

/** The same process shape, importing only the packages the bundle leaves external (the AWS SDK). */
const EXTERNALS_PROBE = `
const started = performance.now();
for (const name of JSON.parse(process.env.BENCH_EXTERNALS)) if (name.startsWith('@aws-sdk/')) await import(name);
process.stdout.write(JSON.stringify({ initMs: performance.now() - started }));
`;

async function probe(code: string, env: Record<string, string>, flags: string[] = []): Promise<{ initMs: number; cpuMs?: number; sinceProcessStartMs?: number; rssMb?: number }> {
  const { stdout } = await run(process.execPath, [...flags, '--input-type=module', '-e', code], { env, cwd: BUNDLE_DIR, maxBuffer: 1 << 20 });
  return JSON.parse(stdout);
}

/** Imports `bundle` once in a fresh process with the environment and NODE_OPTIONS `name`'s function is deployed with; rejects with the child's stderr when init throws. */
export async function importAsDeployed(name: HandlerName, bundle: Pick<Bundle, 'file'>, overrides: Record<string, string> = {}): Promise<{ initMs: number; cpuMs?: number }> {
  await writeFile(join(BUNDLE_DIR, 'package.json'), '{ "type": "module" }\n');
  const deployed = deployedEnvironment(name, overrides);
  return probe(INIT_PROBE, { ...deployed.env, BENCH_BUNDLE: bundle.file }, deployed.nodeFlags);
}

export interface ColdStartRow {
  readonly handler: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
  /** Import time with the stack's NODE_OPTIONS (by default none), as deployed. */
  readonly initMs: Summary;
  /** CPU time (user + system) of the same imports: less sensitive than wall time to other load on the machine. */
  readonly initCpuMs: Summary;
  /** With --enable-source-maps added, as the sourceMapStackTraces deploy option runs it. */
  readonly initMsWithSourceMaps: Summary;
  readonly processReadyMs: Summary;
  readonly rssMb: number;
  /** Importing just the external AWS SDK packages this bundle uses, in a fresh process (0 when bundled). */
  readonly sdkImportMs: Summary;
  readonly externals: string[];
  readonly composition: Bundle['composition'];
  /** Minified bytes of the AWS SDK's packages (@aws-sdk/*, @smithy/*, @aws/*) inside the bundle. */
  readonly sdkBytes: number;
}

export async function measureColdStart(runs: number): Promise<{ rows: ColdStartRow[]; nodeFlags: string }> {
  await rm(BUNDLE_DIR, { recursive: true, force: true });
  const variants: Array<{ label: string; name: HandlerName; env: Record<string, string>; bundle?: string }> = [
    { label: 'intake', name: 'intake', env: {} },
    { label: 'extractor (bedrock)', name: 'extractor', env: { METAHOOK_MODEL_PROVIDER: 'bedrock' } },
    { label: 'extractor (local analyzer)', name: 'extractor', env: { METAHOOK_MODEL_PROVIDER: 'local' } },
    { label: 'callback', name: 'callback', env: {} },
    { label: 'jobs-api', name: 'jobsApi', env: {} },
    { label: 'sweeper', name: 'sweeper', env: {} },
    { label: 'uploads', name: 'uploads', env: {} },
    // Proposed fix (BENCHMARKS.md): the deployed extractor always uses Bedrock, so the local
    // analyzer's libraries can stay out of its bundle.
    { label: 'extractor (bedrock), proposed: local analyzer external', name: 'extractor', env: {}, bundle: 'extractor-proposed' },
    // Before issue 11 item 2 the AWS SDK was left to the runtime; kept to show what bundling changed.
    { label: 'intake, previous: AWS SDK external', name: 'intake', env: {}, bundle: 'intake-sdk-external' },
    { label: 'callback, previous: AWS SDK external', name: 'callback', env: {}, bundle: 'callback-sdk-external' },
    { label: 'extractor (bedrock), previous: AWS SDK external', name: 'extractor', env: {}, bundle: 'extractor-sdk-external' },
  ];
  const bundles = new Map<string, Bundle>();
  for (const name of Object.keys(HANDLER_ENTRIES) as HandlerName[]) bundles.set(name, await bundleHandler(name));
  bundles.set('extractor-proposed', await bundleHandler('extractor', { extraExternal: PROPOSED_EXTRACTOR_EXTERNALS, dir: 'extractor-proposed' }));
  bundles.set('intake-sdk-external', await bundleHandler('intake', { sdkExternal: true, dir: 'intake-sdk-external' }));
  bundles.set('callback-sdk-external', await bundleHandler('callback', { sdkExternal: true, dir: 'callback-sdk-external' }));
  bundles.set('extractor-sdk-external', await bundleHandler('extractor', { sdkExternal: true, dir: 'extractor-sdk-external' }));
  await writeFile(join(BUNDLE_DIR, 'package.json'), '{ "type": "module" }\n');

  // Round-robin: every run imports each variant once, in turn, so a burst of other load on the
  // machine (a few seconds of ~40% slower imports are common on a shared VM) lands on all variants
  // alike instead of on whichever one was being measured.
  const measured = variants.map((variant) => {
    const bundle = bundles.get(variant.bundle ?? variant.name)!;
    const deployed = deployedEnvironment(variant.name, variant.env);
    return {
      variant,
      bundle,
      env: { ...deployed.env, BENCH_BUNDLE: bundle.file, BENCH_EXTERNALS: JSON.stringify(bundle.externals) },
      flags: deployed.nodeFlags,
      sourceMapFlags: [...new Set([...deployed.nodeFlags, '--enable-source-maps'])],
      asDeployed: [] as number[],
      cpu: [] as number[],
      withMaps: [] as number[],
      ready: [] as number[],
      sdk: [] as number[],
      rss: 0,
    };
  });
  for (const m of measured) await probe(INIT_PROBE, m.env, m.flags); // warm the OS file cache once
  for (let i = 0; i < runs; i++) {
    for (const m of measured) {
      // Alternate the two flag sets so drift affects both alike.
      const a = await probe(INIT_PROBE, m.env, m.flags);
      const b = await probe(INIT_PROBE, m.env, m.sourceMapFlags);
      m.asDeployed.push(a.initMs);
      m.cpu.push(a.cpuMs!);
      m.withMaps.push(b.initMs);
      m.ready.push(a.sinceProcessStartMs!);
      m.sdk.push((await probe(EXTERNALS_PROBE, m.env)).initMs);
      m.rss = Math.max(m.rss, a.rssMb ?? 0);
    }
  }
  const rows: ColdStartRow[] = [];
  for (const m of measured) {
    const file = m.bundle.file;
    rows.push({
      handler: m.variant.label,
      bytes: (await stat(file)).size,
      gzipBytes: gzipSync(readFileSync(file)).length,
      sourceMapBytes: (await stat(`${file}.map`)).size,
      initMs: summarize(m.asDeployed),
      initCpuMs: summarize(m.cpu),
      initMsWithSourceMaps: summarize(m.withMaps),
      processReadyMs: summarize(m.ready),
      rssMb: m.rss,
      sdkImportMs: summarize(m.sdk),
      externals: m.bundle.externals,
      sdkBytes: m.bundle.composition.filter(({ part }) => /^@(aws-sdk|smithy|aws)\//.test(part)).reduce((sum, { bytes }) => sum + bytes, 0),
      composition: m.bundle.composition.slice(0, 10),
    });
  }
  const flags = deployedEnvironment('intake').nodeFlags.join(' ') || 'none';
  return { rows, nodeFlags: `${flags} (the stack's NODE_OPTIONS) vs --enable-source-maps (sourceMapStackTraces=true)` };
}
