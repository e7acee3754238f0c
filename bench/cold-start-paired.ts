// `npm run bench:cold-start-paired -- --baseline <git ref>`: init time of each handler's bundle at
// <ref> against the working tree, measured in PAIRS. The machine is shared, so absolute init
// times swing with other load; importing the two bundles alternately (ABBA), each in a fresh
// process with the environment the stack gives that function (bench/lib/stack-environment.ts),
// exposes both to the same load, and the ratio is the number to quote. The baseline's sources
// (lambdas/, lib/) are taken with `git archive` into bench/.out/ (node_modules resolve from the
// repo) and bundled with the baseline's own lib/handler-bundling.ts options.
// Options: --runs 15 (pairs per handler), --handlers intake,callback (default: all).
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { HANDLER_ENTRIES, REPO_ROOT, type HandlerName } from '../lib/constructs/pipeline-function';
import { BUNDLE_DIR, importAsDeployed } from './cold-start';
import { summarize } from './lib/stats';

const { values: args } = parseArgs({
  options: {
    baseline: { type: 'string' },
    runs: { type: 'string', default: '15' },
    handlers: { type: 'string' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'cold-start-paired.json') },
  },
});
if (!args.baseline) throw new Error('--baseline <git ref> is required');
const runs = Number(args.runs);
const handlers = (args.handlers ? args.handlers.split(',') : Object.keys(HANDLER_ENTRIES)) as HandlerName[];
for (const name of handlers) if (!(name in HANDLER_ENTRIES)) throw new Error(`unknown handler ${name}`);

const git = (...gitArgs: string[]) => execFileSync('git', gitArgs, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
const baselineSha = git('rev-parse', '--verify', `${args.baseline}^{commit}`);
const headSha = git('rev-parse', 'HEAD');
const dirty = git('status', '--porcelain', '--', 'lambdas', 'lib').length > 0;

/** A tree's bundling options, read from its own lib/handler-bundling.ts (older trees have no `alias`). */
async function bundlingOf(root: string) {
  const { HANDLER_BUNDLING } = (await import(join(root, 'lib', 'handler-bundling.ts'))) as { HANDLER_BUNDLING: Record<string, any> };
  const alias = Object.fromEntries(Object.entries((HANDLER_BUNDLING.alias ?? {}) as Record<string, string>).map(([from, to]) => [from, join(root, to)]));
  return {
    bundle: true,
    platform: 'node' as const,
    format: HANDLER_BUNDLING.format,
    target: HANDLER_BUNDLING.target,
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourcemap,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    banner: { js: HANDLER_BUNDLING.banner },
    external: [...HANDLER_BUNDLING.external],
    alias,
    logLevel: 'error' as const,
  };
}

async function bundleTree(root: string, label: string): Promise<Map<HandlerName, string>> {
  const options = await bundlingOf(root);
  const files = new Map<HandlerName, string>();
  for (const name of handlers) {
    const outfile = join(BUNDLE_DIR, 'paired', label, name, 'index.mjs');
    await build({ ...options, entryPoints: [join(root, HANDLER_ENTRIES[name])], outfile, absWorkingDir: root });
    files.set(name, outfile);
  }
  return files;
}

const median = (values: number[]) => summarize(values).p50;

async function main(): Promise<void> {
  const baselineRoot = join(REPO_ROOT, 'bench', '.out', `baseline-${baselineSha.slice(0, 12)}`);
  await rm(baselineRoot, { recursive: true, force: true });
  await mkdir(baselineRoot, { recursive: true });
  execFileSync('bash', ['-c', `git archive ${baselineSha} lambdas lib tsconfig.json | tar -x -C "${baselineRoot}"`], { cwd: REPO_ROOT });
  const before = await bundleTree(baselineRoot, 'before');
  const after = await bundleTree(REPO_ROOT, 'after');
  const load = () => execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' / ');
  const loadAtStart = load();

  const rows = [];
  for (const name of handlers) {
    const samples = { before: { wall: [] as number[], cpu: [] as number[] }, after: { wall: [] as number[], cpu: [] as number[] } };
    const wallRatios: number[] = [];
    await importAsDeployed(name, { file: before.get(name)! }); // warm the file cache
    await importAsDeployed(name, { file: after.get(name)! });
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
      const pair: Record<string, number> = {};
      for (const side of order) {
        const result = await importAsDeployed(name, { file: (side === 'before' ? before : after).get(name)! });
        samples[side].wall.push(result.initMs);
        samples[side].cpu.push(result.cpuMs!);
        pair[side] = result.initMs;
      }
      wallRatios.push(pair.after! / pair.before!);
    }
    rows.push({
      handler: name,
      pairs: runs,
      beforeWallMs: median(samples.before.wall),
      afterWallMs: median(samples.after.wall),
      beforeCpuMs: median(samples.before.cpu),
      afterCpuMs: median(samples.after.cpu),
      /** Median of the per-pair after/before ratios (wall time). */
      wallRatio: median(wallRatios),
      cpuRatio: median(samples.after.cpu) / median(samples.before.cpu),
    });
    process.stderr.write(`cold-start-paired: ${name} done\n`);
  }
  const report = {
    command: `npm run bench:cold-start-paired -- --baseline ${args.baseline} --runs ${runs}${args.handlers ? ` --handlers ${args.handlers}` : ''}`,
    baseline: baselineSha,
    after: `${headSha}${dirty ? ' + uncommitted changes' : ''}`,
    node: process.version,
    startedLoadAverage: loadAtStart,
    endedLoadAverage: load(),
    rows,
  };
  await writeFile(args.out!, JSON.stringify(report, null, 2) + '\n');
  const f = (v: number) => v.toFixed(0);
  console.log(`Paired cold start, ${report.command}; before ${baselineSha.slice(0, 7)}, after ${report.after.slice(0, 7)}${dirty ? '+' : ''}; load ${loadAtStart} -> ${report.endedLoadAverage}`);
  console.log('| handler | init ms p50 before -> after (wall) | median pair ratio (wall) | CPU ms p50 before -> after | CPU ratio |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.handler} | ${f(r.beforeWallMs)} -> ${f(r.afterWallMs)} | ${r.wallRatio.toFixed(2)} | ${f(r.beforeCpuMs)} -> ${f(r.afterCpuMs)} | ${r.cpuRatio.toFixed(2)} |`);
  await rm(baselineRoot, { recursive: true, force: true });
}

await main();
