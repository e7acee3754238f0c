// `npm run bench:capacity` (also a phase of `npm run bench`): the capacity model. Runs files
// through the real handlers on the embedded local stack, records every write to the table with
// the item's before and after images (bench/lib/write-recorder.ts), turns each into its table and
// index writes by DynamoDB's rules and the table design's projections (lib/table-design.ts), and
// prints the WCU/s on every partition key the design writes for a traffic mix. Key patterns are
// named by the code's own key functions (lambdas/adapters/dynamo/keys.ts).
// Options: --files-per-second 1000 --tenants 1 --metadata-bytes 2048 --files 200 --out file.json
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as keyModule from '../lambdas/adapters/dynamo/keys';
import * as tableDesign from '../lib/table-design';
import { capacityTable, partitionWrites, PARTITION_WCU_PER_SECOND, wruPerFile, type IndexShape, type TableShape } from './lib/capacity-model';
import { installWriteRecorder } from './lib/write-recorder';

const readArgs = () => parseArgs({
  options: {
    'files-per-second': { type: 'string', default: '1000' },
    tenants: { type: 'string', default: '1' },
    'metadata-bytes': { type: 'string', default: '2048' },
    files: { type: 'string', default: '200' },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
}).values;

/** The table's shape from lib/table-design.ts, whatever projection style it uses. */
export function tableShape(design: Record<string, any> = tableDesign): TableShape {
  const defaultProjection = design.INDEX_PROJECTION ?? 'ALL';
  const indexes: IndexShape[] = (design.ALL_INDEXES as any[]).map((index) => {
    const p = index.projection ?? defaultProjection;
    const type = typeof p === 'string' ? p : p.type ?? p.projectionType;
    const include = typeof p === 'object' ? p.nonKeyAttributes ?? p.attributes ?? p.include ?? [] : index.nonKeyAttributes ?? [];
    return {
      indexName: index.indexName,
      partitionKey: index.partitionKey,
      sortKey: index.sortKey,
      projection: type === 'INCLUDE' ? { include } : type === 'KEYS_ONLY' ? 'KEYS_ONLY' : 'ALL',
    };
  });
  return { partitionKey: design.TABLE_KEYS.partitionKey, sortKey: design.TABLE_KEYS.sortKey, indexes };
}

const canonical = (pattern: string) => pattern.replace(/\{(job|batch|hash|id|n|event)\}/g, '{id}');

/** Templates of every key function in keys.ts, called with placeholders ({tenant} first, {id} after). */
function keyTemplates(): Array<{ name: string; template: string }> {
  const out: Array<{ name: string; template: string }> = [];
  const visit = (prefix: string, value: unknown) => {
    if (typeof value === 'function') {
      const params = Array.from({ length: Math.max(value.length, 1) }, (_, i) => (i === 0 ? '{tenant}' : '{id}'));
      try {
        const result = (value as (...a: unknown[]) => unknown)(...params);
        const strings = typeof result === 'string' ? [['', result]] : result && typeof result === 'object' ? Object.entries(result).filter(([, v]) => typeof v === 'string') : [];
        for (const [attr, template] of strings as Array<[string, string]>) out.push({ name: attr ? `${prefix}().${attr}` : `${prefix}()`, template: canonical(template) });
      } catch {
        // needs arguments of another shape; its keys fall back to the normalised pattern
      }
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (typeof v === 'string') out.push({ name: `${prefix}.${k}`, template: canonical(v) });
        else visit(prefix ? `${prefix}.${k}` : k, v);
      }
    }
  };
  visit('', (keyModule as Record<string, unknown>).keys ?? keyModule);
  return out;
}

async function main(): Promise<void> {
  const args = readArgs();
  const filesPerSecond = Number(args['files-per-second']);
  const tenants = Number(args.tenants);
  const metadataBytes = Number(args['metadata-bytes']);
  const files = args.quick ? 40 : Number(args.files);

  const recorder = installWriteRecorder();
  const { startLocalStack } = await import('../local/stack');
  const { startWebhookReceiver } = await import('../local/webhook-receiver');
  const stack = await startLocalStack({
    port: 0,
    env: { METAHOOK_MODEL_PROVIDER: 'local', POWERTOOLS_LOG_LEVEL: 'SILENT' },
    concurrency: { extractor: 2, callback: 2 },
    pollWaitSeconds: 1,
  });
  const receiver = await startWebhookReceiver(stack.signingSecret);
  recorder.connect(stack.dynamoEndpoint, stack.names.table);
  try {
    const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures');
    const [png, mp3] = await Promise.all([readFile(join(fixtures, 'graphic.png')), readFile(join(fixtures, 'tagged.mp3'))]);
    const perRequest = Math.min(100, files);
    const urls = await Promise.all(
      Array.from({ length: perRequest }, async (_, i) => {
        const audio = i % 4 === 3; // the bench mix: 75% images, 25% audio
        const key = `tenants/${stack.tenantId}/capacity/${i}.${audio ? 'mp3' : 'png'}`;
        await stack.s3.send(new PutObjectCommand({ Bucket: stack.names.mediaBucket, Key: key, Body: audio ? mp3 : png }));
        return `s3://${stack.names.mediaBucket}/${key}`;
      }),
    );
    const metadata = metadataBytes > 0 ? { note: 'm'.repeat(Math.max(1, metadataBytes - 12)) } : undefined;

    recorder.active = true;
    const jobIds: string[] = [];
    const batches = new Map<string, number>();
    for (let sent = 0, r = 0; sent < files; r++) {
      const count = Math.min(perRequest, files - sent);
      const response = await fetch(`${stack.endpoint}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
        body: JSON.stringify({ callback_url: `${receiver.url}/capacity/${r}`, files: urls.slice(0, count).map((url) => ({ url })), ...(metadata ? { metadata } : {}) }),
      });
      const json = (await response.json()) as any;
      if (response.status !== 202) throw new Error(`submit failed: ${response.status} ${JSON.stringify(json)}`);
      jobIds.push(...json.jobs.map((j: { job_id: string }) => j.job_id));
      batches.set(json.batch_id, count);
      sent += count;
    }
    const deadline = Date.now() + 180_000;
    const done = () => {
      const jobEvents = new Set(receiver.received.filter((w) => w.payload?.type.startsWith('job.')).map((w) => w.payload!.data.job_id));
      const batchEvents = receiver.received.filter((w) => w.payload?.type === 'batch.completed').length;
      return jobEvents.size >= jobIds.length && batchEvents >= batches.size;
    };
    while (!done()) {
      if (Date.now() > deadline) throw new Error('capacity run did not finish in 180 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // attempt records written after the POST returns
    recorder.active = false;

    const shape = tableShape();
    const writes = recorder.writes.flatMap((w) => partitionWrites(w, shape));
    const jobSet = new Set(jobIds);
    const idsIn = (key: string) => key.split('#');
    const templates = keyTemplates();
    const normalise = (key: string) =>
      key
        .split('#')
        .map((part) => (part === stack.tenantId ? '{tenant}' : jobSet.has(part) ? '{job}' : batches.has(part) ? '{batch}' : /^[0-9A-HJKMNP-TV-Z]{26}$/.test(part) || /^[A-Za-z]+_[0-9A-Za-z]{10,}$/.test(part) ? '{id}' : /^[0-9a-f]{32,}$/.test(part) ? '{hash}' : /^\d+$/.test(part) ? '{n}' : part))
        .join('#');
    const rows = capacityTable(
      writes,
      {
        files: jobIds.length,
        filesBehind: (key) => {
          const parts = idsIn(key);
          if (parts.some((p) => jobSet.has(p))) return { inRun: 1, bounded: true };
          const batch = parts.find((p) => batches.has(p));
          return batch ? { inRun: batches.get(batch)!, bounded: true } : { inRun: jobIds.length, bounded: false };
        },
        tenantScoped: (key) => idsIn(key).includes(stack.tenantId),
        label: (_where, key) => {
          const pattern = normalise(key);
          const named = templates.find((t) => t.template === canonical(pattern));
          return named ? `${pattern}  (${named.name})` : pattern;
        },
      },
      { filesPerSecond, tenants },
    );
    const result = {
      mix: { filesPerSecond, tenants, metadataBytes, itemMix: '75% image, 25% audio (local analyzer results)' },
      files: jobIds.length,
      limitWcuPerSecond: PARTITION_WCU_PER_SECOND,
      indexes: shape.indexes,
      wruPerFile: wruPerFile(writes, jobIds.length),
      writesPerFile: recorder.writes.length / jobIds.length,
      rows,
      hottest: rows[0],
      withinLimit: rows.every((r) => !r.overLimit),
    };
    if (args.out) await writeFile(args.out, JSON.stringify(result, null, 2));
    else console.log(renderCapacity(result));
  } finally {
    recorder.uninstall();
    await receiver.stop();
    await stack.stop();
  }
}

export function renderCapacity(r: any): string {
  const head = ['where', 'partition key pattern (key function)', 'keys written', 'WCU per file', 'mean item bytes', `max WCU/s on one key at ${r.mix.filesPerSecond} files/s, ${r.mix.tenants} tenant(s)`, `<= ${r.limitWcuPerSecond}`];
  const lines = [
    `Capacity model: ${r.files} files measured through the handlers (metadata ${r.mix.metadataBytes} B per request, ${r.mix.itemMix}); indexes: ${r.indexes.map((i: IndexShape) => `${i.indexName} ${typeof i.projection === 'string' ? i.projection : `INCLUDE ${i.projection.include.join(',')}`}`).join(', ')}.`,
    `WRU per file (table + indexes): ${r.wruPerFile.toFixed(2)}; item writes per file: ${r.writesPerFile.toFixed(2)}.`,
    `| ${head.join(' | ')} |`,
    `|${head.map(() => ' --- ').join('|')}|`,
    ...r.rows.map((row: any) => `| ${row.where} | \`${row.pattern}\` | ${row.keys} | ${row.wcuPerFile.toFixed(2)} | ${row.meanItemBytes.toFixed(0)} | ${row.maxWcuPerSecond.toFixed(0)} | ${row.overLimit ? '**over**' : 'ok'} |`),
  ];
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('capacity.ts')) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
