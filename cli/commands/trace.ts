// CLI: `trace JOB_ID`: one job's trace as a tree, from the segments the local stack's X-Ray daemon
// stand-in saved (<data dir>/traces.jsonl). On AWS the same trace is in the X-Ray console: filter
// `annotation.job_id = "JOB_ID"` (the extractor and callback segments carry it).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderTrace, traceIdsOfJob, traceTree, type TraceDocument } from '../../local/trace-view';
import type { OutputFormat } from '../format';
import type { CliIo } from '../io';

export const tracesFile = (io: CliIo): string => join(resolve(io.cwd, io.env.METAHOOK_DATA_DIR ?? '.metahook'), 'traces.jsonl');

/** Prints the job's trace(s); false when none holds the job. */
export function printJobTrace(io: CliIo, jobId: string, format: OutputFormat): boolean {
  const file = tracesFile(io);
  const documents: TraceDocument[] = existsSync(file)
    ? readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as TraceDocument)
    : [];
  const traceIds = traceIdsOfJob(documents, jobId);
  if (traceIds.length === 0) {
    io.stderr(`metahook: no trace holds job ${jobId} in ${file} (the local stack writes it while running; on AWS use the X-Ray console, filter annotation.job_id = "${jobId}")`);
    return false;
  }
  if (format === 'json') {
    io.stdout(JSON.stringify(traceIds.map((traceId) => ({ traceId, segments: traceTree(documents, traceId) })), null, 2));
    return true;
  }
  for (const traceId of traceIds) io.stdout(`trace ${traceId}\n${renderTrace(traceTree(documents, traceId))}\n`);
  return true;
}
