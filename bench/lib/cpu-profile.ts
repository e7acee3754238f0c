// Bench support: "where the time goes". Samples the bench process's CPU with the V8 profiler
// (node:inspector) while the pipeline runs and attributes each sample to a component by the
// code on its stack: emulators, AWS SDK client code, handler code, model stub, receiver, Node core.
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly url: string; readonly functionName: string };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Components in precedence order: a sample belongs to the first one found anywhere on its stack. */
const COMPONENTS: ReadonlyArray<[string, RegExp]> = [
  ['DynamoDB emulator (dynalite)', /node_modules\/(dynalite|level|memory-level|abstract-level|classic-level|browser-level|level-supports|level-transcoder|module-error|maybe-combine-errors|lazy|big\.js|buffer-crc32|async|lock|once)\//],
  ['SQS + S3 emulator (fauxqs)', /node_modules\/(fauxqs|fastify|@fastify|find-my-way|avvio|light-my-request|pino|@pinojs|valibot|toad-cache|secure-json-parse|fast-json-stringify|ajv)\//],
  ['Converse stub (model)', /test\/support\/converse-stub/],
  ['webhook receiver (local)', /local\/webhook-receiver|node_modules\/standardwebhooks|node_modules\/@stablelib/],
  ['AWS SDK client code', /node_modules\/(@aws-sdk|@smithy|@aws-crypto|fast-xml-parser|strnum|uuid)/],
  ['local analyzer (sharp, exifr, music-metadata)', /lambdas\/adapters\/local-analyzer|node_modules\/(sharp|exifr|music-metadata|strtok3|token-types|peek-readable|@tokenizer|file-type)/],
  ['handler code (lambdas/, middy, powertools, zod)', /lambdas\/|node_modules\/(@middy|@aws-lambda-powertools|zod|ulid|ipaddr\.js)/],
  ['local stack (gateway, pollers)', /\/local\//],
  ['bench harness', /\/bench\//],
];

const SPECIAL: Record<string, string> = {
  '(idle)': 'idle',
  '(garbage collector)': 'garbage collection',
  '(program)': 'V8/Node internals (program)',
};

export interface CpuBreakdown {
  readonly totalMs: number;
  readonly busyMs: number;
  /** Share of busy (non-idle) time per component, in percent. */
  readonly percentOfBusy: Record<string, number>;
  readonly ms: Record<string, number>;
}

export function attribute(profile: CpuProfile): CpuBreakdown {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const category = new Map<number, string>();
  const rank = (name: string) => COMPONENTS.findIndex(([component]) => component === name);
  // Walk down from the root carrying the best (highest-precedence) component seen so far.
  const root = profile.nodes[0]!;
  const stack: Array<[number, string | undefined]> = [[root.id, undefined]];
  while (stack.length > 0) {
    const [id, inherited] = stack.pop()!;
    const node = byId.get(id)!;
    const special = SPECIAL[node.callFrame.functionName];
    let own: string | undefined;
    for (const [name, pattern] of COMPONENTS) {
      if (pattern.test(node.callFrame.url)) {
        own = name;
        break;
      }
    }
    const best = own === undefined ? inherited : inherited === undefined || rank(own) < rank(inherited) ? own : inherited;
    category.set(id, special ?? best ?? 'Node core (HTTP, net, timers) and other');
    for (const child of node.children ?? []) stack.push([child, best]);
  }
  const ms: Record<string, number> = {};
  profile.samples.forEach((id, i) => {
    const name = category.get(id) ?? 'unknown';
    ms[name] = (ms[name] ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000;
  });
  const totalMs = Object.values(ms).reduce((a, b) => a + b, 0);
  const busyMs = totalMs - (ms.idle ?? 0);
  const percentOfBusy = Object.fromEntries(
    Object.entries(ms)
      .filter(([name]) => name !== 'idle')
      .sort(([, a], [, b]) => b - a)
      .map(([name, value]) => [name, Math.round((value / busyMs) * 1000) / 10]),
  );
  return { totalMs, busyMs, percentOfBusy, ms };
}

/** Runs `work` under the sampling profiler and returns its breakdown. */
export async function profileWhile<T>(work: () => Promise<T>, intervalMicros = 1000): Promise<{ result: T; breakdown: CpuBreakdown }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalMicros });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    return { result, breakdown: attribute(profile) };
  } finally {
    session.disconnect();
  }
}
