// `metahook doctor --aws`, cold starts: what the bench cannot tell (BENCHMARKS.md 6f), read from
// the deployed functions' own logs. Lambda ends every invocation with a REPORT line, and the first
// invocation of a new execution environment carries its Init Duration: in plain text
// "... Max Memory Used: 73 MB Init Duration: 235.12 ms", in the JSON log format a platform.report
// record with metrics.initDurationMs ("Lambda function logs", "Configuring JSON and plain text log
// formats", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html).
import { summarize } from '../../bench/lib/stats';
import type { DoctorCheck } from './doctor';

export const COLD_START_CHECK = 'cold starts';

/** Issue 11: a function's module init, p50, on the deployed runtime. */
export const DEFAULT_INIT_BUDGET_MS = 100;

/** How far back doctor reads the logs. */
export const COLD_START_WINDOW_HOURS = 24;

/** The CloudWatch Logs filter pattern that selects REPORT lines with an init duration, in either format. */
export const INIT_DURATION_FILTER_PATTERN = '?"Init Duration" ?"initDurationMs"';

const TEXT_INIT_DURATION = /\bInit Duration: (\d+(?:\.\d+)?) ms\b/;

/** The init duration a REPORT log event records, in ms; undefined for any other line. */
export function initDurationOf(message: string): number | undefined {
  const text = TEXT_INIT_DURATION.exec(message);
  if (text && message.startsWith('REPORT ')) return Number(text[1]);
  if (!message.trimStart().startsWith('{')) return undefined;
  try {
    const event = JSON.parse(message) as { type?: unknown; record?: { metrics?: { initDurationMs?: unknown } } };
    const value = event.type === 'platform.report' ? event.record?.metrics?.initDurationMs : undefined;
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Init durations per function (its log group), as read from the logs. */
export type ColdStarts = ReadonlyMap<string, readonly number[]>;

/** PASS when every function that had a cold start in the window initialised within the budget at p50. */
export function coldStartCheck(coldStarts: ColdStarts, budgetMs = DEFAULT_INIT_BUDGET_MS): DoctorCheck {
  const measured = [...coldStarts].filter(([, durations]) => durations.length > 0);
  if (measured.length === 0) {
    return {
      name: COLD_START_CHECK,
      status: 'skip',
      detail: `no cold start logged in the last ${COLD_START_WINDOW_HOURS} h: send some traffic (or run doctor with --e2e-callback), wait a minute for the logs, and run it again`,
    };
  }
  const rows = measured
    .map(([name, durations]) => ({ name, ...summarize(durations) }))
    .sort((a, b) => b.p50 - a.p50);
  const describe = (row: (typeof rows)[number]) => `${row.name} p50 ${row.p50.toFixed(0)} ms, p95 ${row.p95.toFixed(0)} ms (${row.n} cold starts)`;
  const over = rows.filter((row) => row.p50 > budgetMs);
  if (over.length === 0) return { name: COLD_START_CHECK, status: 'pass', detail: `Init Duration within ${budgetMs} ms at p50: ${rows.map(describe).join('; ')}` };
  return {
    name: COLD_START_CHECK,
    status: 'fail',
    detail: `Init Duration over ${budgetMs} ms at p50: ${over.map(describe).join('; ')}${over.length < rows.length ? `; within: ${rows.filter((row) => row.p50 <= budgetMs).map(describe).join('; ')}` : ''}`,
    fix: 'deploy without -c sourceMapStackTraces=true if it is set (20-45 ms per function); init grows with bundle bytes, see BENCHMARKS.md 6f for what each function loads. The extractor is known to miss 100 ms; --init-budget-ms sets the budget this check holds',
  };
}
