// `npm run audit:deps`: dependency-advisory check that degrades clearly when offline.
// 1. `npm audit --json` with a short timeout and no retries: the advisory database decides.
// 2. If it cannot be reached (no network, a registry mirror without the audit endpoint: npm
//    answers "audit endpoint returned an error"), say so, then check package-lock.json against the
//    committed snapshot security/advisories.json (a curated list, not a full database).
// Exit codes: 0 no advisory at or above --level; 1 advisories found (online or snapshot);
// 2 usage error or unreadable lock/snapshot; 3 advisory database unreachable and the snapshot
// found nothing (the check is incomplete; --offline-ok turns this into 0).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';

export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const EXIT = { clean: 0, found: 1, usage: 2, unreachable: 3 } as const;

export interface Finding {
  readonly package: string;
  readonly version: string;
  readonly severity: Severity;
  readonly title: string;
  readonly url: string;
  /** Only reachable through devDependencies (build and test tooling, not a Lambda bundle). */
  readonly dev: boolean;
}

export type NpmAuditOutcome =
  | { readonly kind: 'report'; readonly findings: readonly Finding[] }
  | { readonly kind: 'unreachable'; readonly reason: string };

const atLeast = (severity: Severity, level: Severity) => SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(level);

/** Reads `npm audit --json` output (report version 2); anything without a report means no database was reached. */
export function parseNpmAudit(stdout: string, exitCode: number | null, lock: LockedPackages): NpmAuditOutcome {
  let parsed: any;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return { kind: 'unreachable', reason: exitCode === null ? 'npm audit timed out' : `npm audit printed no JSON (exit ${exitCode})` };
  }
  if (!parsed || typeof parsed !== 'object' || typeof parsed.vulnerabilities !== 'object' || parsed.vulnerabilities === null) {
    const reason = String(parsed?.message ?? parsed?.error?.summary ?? parsed?.error?.code ?? `exit ${exitCode}`);
    return { kind: 'unreachable', reason };
  }
  const findings: Finding[] = [];
  for (const [name, entry] of Object.entries<any>(parsed.vulnerabilities)) {
    // `via` holds the advisories themselves (objects) or the names of vulnerable dependencies (strings).
    for (const via of entry.via ?? []) {
      if (typeof via !== 'object' || via === null) continue;
      const versions = lock.filter((p) => p.name === name);
      findings.push({
        package: name,
        version: versions.map((p) => p.version).join(', ') || String(entry.range ?? ''),
        severity: (SEVERITIES as readonly string[]).includes(via.severity) ? via.severity : 'info',
        title: String(via.title ?? ''),
        url: String(via.url ?? ''),
        dev: versions.length > 0 && versions.every((p) => p.dev),
      });
    }
  }
  return { kind: 'report', findings };
}

export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly dev: boolean;
}
export type LockedPackages = readonly LockedPackage[];

/** Every installed package of a lockfileVersion 2/3 package-lock.json. */
export function lockedPackages(lock: any): LockedPackages {
  if (!lock || typeof lock.packages !== 'object') throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or 3 needed)');
  return Object.entries<any>(lock.packages)
    .filter(([path, entry]) => path.includes('node_modules/') && typeof entry?.version === 'string' && !entry.link)
    .map(([path, entry]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: entry.version, dev: entry.dev === true }));
}

export interface SnapshotAdvisory {
  readonly id: string;
  readonly package: string;
  readonly vulnerable: string;
  readonly severity: Severity;
  readonly title: string;
  readonly url: string;
}

export function checkSnapshot(packages: LockedPackages, advisories: readonly SnapshotAdvisory[]): Finding[] {
  return advisories.flatMap((advisory) => {
    if (!semver.validRange(advisory.vulnerable)) throw new Error(`advisory ${advisory.id} has an invalid range "${advisory.vulnerable}"`);
    return packages
      .filter((p) => p.name === advisory.package && semver.satisfies(p.version, advisory.vulnerable, { includePrerelease: true }))
      .map((p) => ({ package: p.name, version: p.version, severity: advisory.severity, title: `${advisory.id}: ${advisory.title}`, url: advisory.url, dev: p.dev }));
  });
}

function runNpmAudit(cwd: string, timeoutMs: number, extraArgs: readonly string[]): Promise<{ stdout: string; exitCode: number | null }> {
  return new Promise((done) => {
    // npm's own network timeout, no retries: an unreachable endpoint answers in seconds, not minutes.
    const args = ['audit', '--json', '--fetch-retries=0', `--fetch-timeout=${timeoutMs}`, ...extraArgs];
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5_000);
    child.on('error', () => {
      clearTimeout(timer);
      done({ stdout: '', exitCode: null });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ stdout, exitCode: code });
    });
  });
}

export interface AuditOptions {
  readonly cwd: string;
  readonly level: Severity;
  readonly timeoutMs: number;
  readonly offlineOk: boolean;
  /** Passed to npm audit (e.g. --registry=...). */
  readonly npmArgs: readonly string[];
  readonly snapshotPath: string;
  readonly print: (line: string) => void;
}

const formatFinding = (f: Finding) => `  ${f.severity.padEnd(8)} ${f.package}@${f.version}${f.dev ? ' (dev only)' : ''}  ${f.title}  ${f.url}`;

export async function auditDependencies(options: AuditOptions): Promise<number> {
  const { print } = options;
  let packages: LockedPackages;
  let snapshot: { updated?: string; advisories: SnapshotAdvisory[] };
  try {
    packages = lockedPackages(JSON.parse(await readFile(resolve(options.cwd, 'package-lock.json'), 'utf8')));
    snapshot = JSON.parse(await readFile(options.snapshotPath, 'utf8'));
  } catch (error) {
    print(`audit:deps: cannot read the lockfile or the advisory snapshot: ${(error as Error).message}`);
    return EXIT.usage;
  }
  const report = (source: string, findings: readonly Finding[]) => {
    const relevant = findings.filter((f) => atLeast(f.severity, options.level));
    if (relevant.length === 0) {
      print(`audit:deps: ${source}: no advisory at or above "${options.level}" for ${packages.length} installed packages.`);
      return false;
    }
    print(`audit:deps: ${source}: ${relevant.length} advisory match(es) at or above "${options.level}":`);
    for (const finding of relevant) print(formatFinding(finding));
    return true;
  };

  const { stdout, exitCode } = await runNpmAudit(options.cwd, options.timeoutMs, options.npmArgs);
  const online = parseNpmAudit(stdout, exitCode, packages);
  if (online.kind === 'report') return report('npm audit (advisory database)', online.findings) ? EXIT.found : EXIT.clean;

  print(`audit:deps: could not reach the advisory database (${online.reason}).`);
  print(`audit:deps: falling back to the committed snapshot ${options.snapshotPath} (updated ${snapshot.updated ?? 'unknown'}, ` +
    `${snapshot.advisories.length} advisories): it is NOT a complete database; rerun with network access to be sure.`);
  let found: boolean;
  try {
    found = report('snapshot', checkSnapshot(packages, snapshot.advisories));
  } catch (error) {
    print(`audit:deps: the snapshot is invalid: ${(error as Error).message}`);
    return EXIT.usage;
  }
  if (found) return EXIT.found;
  return options.offlineOk ? EXIT.clean : EXIT.unreachable;
}

const USAGE = `Usage: npm run audit:deps [-- --level info|low|moderate|high|critical] [--timeout-ms N] [--offline-ok] [--registry URL]
Exit codes: 0 clean, 1 advisories found, 2 usage/unreadable input, 3 advisory database unreachable and the snapshot found nothing.`;

export async function main(argv: readonly string[], print: (line: string) => void = console.log): Promise<number> {
  let level: Severity = 'moderate';
  let timeoutMs = 15_000;
  let offlineOk = false;
  const npmArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    try {
      if (arg === '--level') {
        const given = value();
        if (!(SEVERITIES as readonly string[]).includes(given)) throw new Error(`--level must be one of ${SEVERITIES.join(', ')}`);
        level = given as Severity;
      } else if (arg === '--timeout-ms') {
        timeoutMs = Number(value());
        if (!Number.isInteger(timeoutMs) || timeoutMs < 1000) throw new Error('--timeout-ms must be a whole number of at least 1000');
      } else if (arg === '--offline-ok') offlineOk = true;
      else if (arg === '--registry') npmArgs.push(`--registry=${value()}`);
      else if (arg === '--help' || arg === '-h') {
        print(USAGE);
        return EXIT.clean;
      } else throw new Error(`unknown option ${arg}`);
    } catch (error) {
      print(`audit:deps: ${(error as Error).message}\n${USAGE}`);
      return EXIT.usage;
    }
  }
  const cwd = process.cwd();
  return auditDependencies({ cwd, level, timeoutMs, offlineOk, npmArgs, snapshotPath: resolve(cwd, 'security/advisories.json'), print });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
