// Supply-chain check (CI and `npm test`): bundles each Lambda handler exactly as the CDK stack
// does (bench/cold-start.ts CDK_BUNDLING, built from lib/handler-bundling.ts like the CDK construct),
// lists every npm package the esbuild metafile says ended up in each bundle, and fails when a
// bundle holds a package missing from scripts/bundle-allowlist.json or one the lockfile marks
// as dev-only (a devDependency, or a package only devDependencies pull in), unless the allowlist
// acknowledges that dev-only package for that handler with a reason.
// Run: npx tsx scripts/check-bundles.ts   (exit 1 on any problem)
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { CDK_BUNDLING } from '../bench/cold-start';
import { HANDLER_ENTRIES, REPO_ROOT, type HandlerName } from '../lib/constructs/pipeline-function';
import { BUILD_TIME_ONLY, COMPANION_BUNDLES, PACKAGE_SHIMS } from '../lib/handler-bundling';

export const ALLOWLIST_FILE = join(REPO_ROOT, 'scripts', 'bundle-allowlist.json');

export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  /** Where npm installed it, e.g. node_modules/a/node_modules/b (the lockfile's key). */
  readonly installPath: string;
  /** Minified bytes this package contributes to the bundle. */
  readonly bytes: number;
  /** The lockfile marks it dev-only: nothing in `dependencies` needs it. */
  readonly devOnly: boolean;
}

export interface BundleReport {
  readonly handler: HandlerName;
  readonly entry: string;
  readonly bytes: number;
  readonly packages: readonly BundledPackage[];
  /** Imports left out of the bundle (sharp, the ffmpeg installer), without node: builtins. */
  readonly externals: readonly string[];
  /** Why this bundle fails the check; empty when it passes. */
  readonly problems: readonly string[];
  /** Allowlisted packages no longer bundled: harmless, but the list should shrink with them. */
  readonly unused: readonly string[];
}

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
}

export interface Allowlist {
  /** Packages each handler's bundle may hold. */
  readonly handlers: Record<HandlerName, readonly string[]>;
  /** Dev-only packages a bundle is known to inline, per handler, with the reason (to be fixed, not grown). */
  readonly devOnlyExceptions: Partial<Record<HandlerName, Record<string, string>>>;
}

/** node_modules/a/node_modules/@s/b/lib/x.js -> node_modules/a/node_modules/@s/b (innermost package). */
export function installPathOf(input: string): string | undefined {
  const marker = 'node_modules/';
  const at = input.lastIndexOf(marker);
  if (at === -1) return undefined;
  const rest = input.slice(at + marker.length).split('/');
  const nameParts = rest[0]!.startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1);
  return input.slice(0, at + marker.length) + nameParts.join('/');
}

const packageNameOf = (installPath: string): string => installPath.slice(installPath.lastIndexOf('node_modules/') + 'node_modules/'.length);

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function loadAllowlist(file = ALLOWLIST_FILE): Allowlist {
  const raw = readJson<{ handlers?: Record<string, unknown>; devOnlyExceptions?: Allowlist['devOnlyExceptions'] }>(file);
  const handlers = {} as Record<HandlerName, string[]>;
  for (const handler of Object.keys(HANDLER_ENTRIES) as HandlerName[]) {
    const list = raw.handlers?.[handler];
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
      throw new Error(`${file}: "handlers.${handler}" must be a list of package names`);
    }
    handlers[handler] = list;
  }
  return { handlers, devOnlyExceptions: raw.devOnlyExceptions ?? {} };
}

/** Packages in one bundle output, from esbuild's metafile. */
export function packagesInBundle(output: Metafile['outputs'][string], lock: Record<string, LockEntry>): BundledPackage[] {
  const byPath = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const installPath = installPathOf(input);
    if (installPath) byPath.set(installPath, (byPath.get(installPath) ?? 0) + bytesInOutput);
  }
  return [...byPath]
    .map(([installPath, bytes]) => {
      const entry = lock[installPath];
      return {
        name: packageNameOf(installPath),
        version: entry?.version ?? 'not in package-lock.json',
        installPath,
        bytes,
        // A package the lockfile does not know is as suspect as a dev one.
        devOnly: entry === undefined || entry.dev === true,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** esbuild's metafile of `entry` (relative to the repository) bundled as the CDK bundles it; nothing is written. */
export async function bundleMetafile(entry: string, outfile: string): Promise<Metafile> {
  const result = await build({
    ...CDK_BUNDLING,
    mainFields: [...CDK_BUNDLING.mainFields],
    external: [...CDK_BUNDLING.external],
    entryPoints: [join(REPO_ROOT, entry)],
    outfile: join(REPO_ROOT, 'cdk.out', 'check-bundles', outfile),
    absWorkingDir: REPO_ROOT,
    write: false,
    metafile: true,
  });
  return result.metafile;
}

export async function bundleReport(handler: HandlerName, allowlist: Allowlist, lock: Record<string, LockEntry>, devDependencies: ReadonlySet<string>): Promise<BundleReport> {
  const entry = HANDLER_ENTRIES[handler];
  const metafile = await bundleMetafile(entry, join(handler, 'index.mjs'));
  const [, output] = Object.entries(metafile.outputs).find(([path]) => path.endsWith('.mjs'))!;
  const companions = await companionPackages(handler, lock);
  const packages = [...packagesInBundle(output, lock), ...companions.packages]
    .filter((pkg, index, all) => all.findIndex((other) => other.installPath === pkg.installPath) === index)
    .sort((a, b) => a.name.localeCompare(b.name));
  const allowed = new Set(allowlist.handlers[handler]);
  const devOnlyAcknowledged = allowlist.devOnlyExceptions[handler] ?? {};
  const problems: string[] = [...shimImportProblems(metafile), ...buildTimeOnlyProblems(metafile), ...companions.problems];
  for (const pkg of packages) {
    // A direct devDependency is never acceptable, whatever the allowlist says.
    if (devDependencies.has(pkg.name)) problems.push(`${pkg.name} is a devDependency in package.json`);
    else if (pkg.devOnly && !devOnlyAcknowledged[pkg.name]) problems.push(`${pkg.name} (${pkg.installPath}) is dev-only in package-lock.json`);
    else if (!pkg.devOnly && !allowed.has(pkg.name)) problems.push(`${pkg.name}@${pkg.version} is not on the ${handler} allowlist`);
  }
  const bundled = new Set(packages.map((pkg) => pkg.name));
  const builtins = new Set(builtinModules);
  const externals = [...new Set(output.imports.filter((i) => i.external && !i.path.startsWith('node:') && !builtins.has(i.path)).map((i) => i.path))].sort();
  const allowedExternal = (path: string) =>
    CDK_BUNDLING.external.some((pattern) => (pattern.endsWith('/*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern || path.startsWith(`${pattern}/`)));
  for (const path of externals) if (!allowedExternal(path)) problems.push(`external import ${path} would load the runtime's copy, which is not ours to choose: bundle it`);
  return {
    handler,
    entry,
    bytes: output.bytes,
    packages,
    externals,
    problems,
    unused: [...allowed, ...Object.keys(devOnlyAcknowledged)].filter((name) => !bundled.has(name)),
  };
}

/** Packages in the files bundled beside the handler (a worker's own entry): the same allowlist applies. */
async function companionPackages(handler: HandlerName, lock: Record<string, LockEntry>): Promise<{ packages: BundledPackage[]; problems: string[] }> {
  const packages: BundledPackage[] = [];
  const problems: string[] = [];
  for (const companion of COMPANION_BUNDLES[handler] ?? []) {
    const metafile = await bundleMetafile(companion.entry, join(handler, companion.file));
    const [, output] = Object.entries(metafile.outputs).find(([path]) => path.endsWith('.mjs'))!;
    packages.push(...packagesInBundle(output, lock));
    problems.push(...shimImportProblems(metafile), ...buildTimeOnlyProblems(metafile));
  }
  return { packages, problems };
}

/**
 * A package shim (lib/handler-bundling.ts PACKAGE_SHIMS) covers only what its listed importers
 * call: any other code importing the shimmed package would get the sliver instead of the package.
 */
export function shimImportProblems(metafile: Metafile): string[] {
  // The metafile names inputs relative to the repository, without the alias's leading "./".
  const shimAt = new Map(Object.entries(PACKAGE_SHIMS).map(([name, shim]) => [shim.shim.replace(/^\.\//, ''), { name, ...shim }]));
  const problems: string[] = [];
  for (const [importer, { imports }] of Object.entries(metafile.inputs)) {
    for (const { path, original } of imports) {
      const shimmed = shimAt.get(path);
      if (!shimmed) continue;
      const { name, importers } = shimmed;
      const installPath = installPathOf(importer);
      const from = installPath ? packageNameOf(installPath) : importer;
      if (!importers.includes(from)) problems.push(`${importer} imports ${original ?? name}, which the bundles shim for ${importers.join(', ')} only (PACKAGE_SHIMS): review what it calls`);
    }
  }
  return problems;
}

/**
 * Inputs that BUILD_TIME_ONLY keeps out but whose code reaches the bundle, each with the reason. The
 * metafile's `inputs` list every module imported, also those tree-shaking drops, and esbuild leaves
 * a stub of a few bytes for a dropped module that a namespace re-exports (17 for zod's generator):
 * only code counts.
 */
export function buildTimeOnlyProblems(metafile: Metafile): string[] {
  const STUB_BYTES = 256;
  const inOutput = (input: string) => Object.values(metafile.outputs).some((output) => (output.inputs[input]?.bytesInOutput ?? 0) > STUB_BYTES);
  return Object.entries(BUILD_TIME_ONLY)
    .filter(([input]) => inOutput(input))
    .map(([input, reason]) => `${input} is build-time only (BUILD_TIME_ONLY): ${reason}`);
}

/** Bundles every handler (in parallel) and checks each against the allowlist and the lockfile. */
export async function checkBundles(options: { allowlistFile?: string } = {}): Promise<BundleReport[]> {
  const allowlist = loadAllowlist(options.allowlistFile);
  const lock = readJson<{ packages: Record<string, LockEntry> }>(join(REPO_ROOT, 'package-lock.json')).packages;
  const devDependencies = new Set(Object.keys(readJson<{ devDependencies?: Record<string, string> }>(join(REPO_ROOT, 'package.json')).devDependencies ?? {}));
  const handlers = Object.keys(HANDLER_ENTRIES) as HandlerName[];
  return Promise.all(handlers.map((handler) => bundleReport(handler, allowlist, lock, devDependencies)));
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export function formatReport(reports: readonly BundleReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(`${report.handler} (${report.entry}): ${kb(report.bytes)} minified, ${report.packages.length} packages, externals: ${report.externals.join(', ') || 'none'}`);
    for (const pkg of report.packages) {
      const nested = pkg.installPath === `node_modules/${pkg.name}` ? '' : `  (${pkg.installPath})`;
      lines.push(`  ${pkg.name}@${pkg.version}  ${kb(pkg.bytes)}${pkg.devOnly ? '  DEV-ONLY' : ''}${nested}`);
    }
    for (const problem of report.problems) lines.push(`  FAIL ${problem}`);
    for (const name of report.unused) lines.push(`  note: ${name} is allowlisted but no longer bundled`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reports = await checkBundles();
  console.log(formatReport(reports));
  const failed = reports.filter((report) => report.problems.length > 0);
  if (failed.length > 0) {
    console.error(`\ncheck-bundles: ${failed.map((r) => r.handler).join(', ')} pull in unexpected packages (see FAIL lines). ` +
      'Add a package to scripts/bundle-allowlist.json only after reviewing why the handler needs it.');
    process.exit(1);
  }
  console.log('\ncheck-bundles: every bundle holds only allowlisted production packages.');
}
