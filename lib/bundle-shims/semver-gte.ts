// Bundling shim (lib/handler-bundling.ts PACKAGE_SHIMS): stands in for `semver` inside the Lambda
// bundles only. Its one importer there is aws-xray-sdk-core's AWS SDK v2 patcher
// (dist/lib/patchers/aws_p.js), which calls semver.gte() once, inside captureAWS(), a v2 API we
// never call. Yet the X-Ray SDK requires that patcher at load, and semver's index builds its ~40
// regular expressions and parses 28 KB at every cold start of every function (BENCHMARKS.md 6f).
// test/unit/package-shims.test.ts checks gte() against the real semver, and scripts/check-bundles.ts
// fails a bundle in which anything else imports it: a new importer needing more of semver fails
// there, not on Lambda.

type Identifier = number | string;

interface Parsed {
  readonly release: readonly [number, number, number];
  readonly prerelease: readonly Identifier[];
}

/** semver's strict FULL pattern (internal/re.js): no leading zeros, one optional "v", dot-separated identifiers. */
const NUMBER = '0|[1-9]\\d*';
const IDENTIFIER = `(?:${NUMBER}|\\d*[a-zA-Z-][a-zA-Z0-9-]*)`;
const VERSION = new RegExp(`^v?(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`);

function parse(version: string): Parsed {
  const match = VERSION.exec(String(version).trim());
  if (!match) throw new TypeError(`Invalid Version: ${version}`);
  const prerelease = match[4] === undefined ? [] : match[4].split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  return { release: [Number(match[1]), Number(match[2]), Number(match[3])], prerelease };
}

function compareIdentifiers(a: Identifier, b: Identifier): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'number') return -1; // numeric identifiers sort before alphanumeric ones (semver 2.0.0 §11.4.3)
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** semver's compare(): release triple, then "a pre-release sorts before its release", then identifiers left to right. */
function compare(a: Parsed, b: Parsed): number {
  for (let index = 0; index < 3; index++) {
    const difference = Math.sign(a.release[index]! - b.release[index]!);
    if (difference !== 0) return difference;
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let index = 0; index < Math.max(a.prerelease.length, b.prerelease.length); index++) {
    if (a.prerelease[index] === undefined) return -1;
    if (b.prerelease[index] === undefined) return 1;
    const difference = compareIdentifiers(a.prerelease[index]!, b.prerelease[index]!);
    if (difference !== 0) return difference;
  }
  return 0;
}

export function gte(a: string, b: string): boolean {
  return compare(parse(a), parse(b)) >= 0;
}
