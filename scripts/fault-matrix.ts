// `npm run test:faults [-- --only <text>] [-- --occurrences N] [-- --deadline-ms N]`: the full fault-injection matrix
// (issue 17). Records the AWS calls each handler makes in a clean run, then for each call
// (and its first N occurrences) fails it before sending, after committing, and by hanging;
// plus the batch progress write failing on the last receive SQS allows (lastReceiveScenarios), and
// each extractor call answering only after the function's timeout there (lastReceiveStallScenarios);
// prints one row per scenario (lost / duplicated / stuck counts) and exits 1 if any failed.
// The representative subset in `npm test` is test/integration/fault-injection.test.ts.
import { discoverCallSites, formatTable, lastReceiveScenarios, lastReceiveStallScenarios, runScenario, scenariosFor, startFaultStack, type ScenarioResult } from '../test/support/fault-matrix';

const arg = (name: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
};

process.env.TEST_LOG_LEVEL ??= 'SILENT';
const h = await startFaultStack();
// Handlers log failed invocations through the pollers; the table is the report here.
console.error = () => undefined;
try {
  const sites = await discoverCallSites(h);
  process.stdout.write(
    `AWS calls per clean scenario:\n${sites.map((s) => `  ${s.functionName} ${s.service}:${s.operation} x${s.count}`).join('\n')}\n\n`,
  );
  const only = arg('only');
  const scenarios = [...scenariosFor(sites, Number(arg('occurrences') ?? 2)), ...lastReceiveScenarios(), ...lastReceiveStallScenarios(sites)].filter((s) => !only || s.id.includes(only));
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    // --deadline-ms: how long an accepted request may take to settle (default 25 s; raise it on a loaded machine).
    const result = await runScenario(h, scenario, undefined, Number(arg('deadline-ms') ?? 25_000));
    results.push(result);
    process.stdout.write(`${result.passed ? 'ok  ' : 'FAIL'} ${result.id} (${result.ms} ms)${result.notes.length > 0 ? `: ${result.notes.join('; ')}` : ''}\n`);
  }
  process.stdout.write(`\n${formatTable(results)}\n`);
  process.exitCode = results.every((r) => r.passed) ? 0 : 1;
} finally {
  await h.stop();
}
// The run of 2026-12-02 printed its table and then never ended (the stack stopped; likely the tsx
// MessagePort left open after the metadata parser's worker ran, as bench/audio-normalisation.ts saw).
process.stdout.write('', () => process.exit(process.exitCode ?? 0));
