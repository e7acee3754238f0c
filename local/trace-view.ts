// Local stack: reads back the segments the X-Ray daemon stand-in collected (local/xray-daemon.ts)
// and shows one job's trace as a tree, as the X-Ray console's trace view would: the intake
// request, then the extractor and callback segments that continued it, each with its AWS calls.
export interface TraceDocument {
  readonly trace_id: string;
  readonly id: string;
  readonly parent_id?: string;
  readonly name: string;
  readonly start_time: number;
  readonly end_time?: number;
  /** 'subsegment' for a subsegment sent on its own (streamed); segments have none. */
  readonly type?: string;
  readonly namespace?: string;
  readonly origin?: string;
  readonly annotations?: Record<string, string | number | boolean>;
  readonly aws?: { readonly operation?: string };
  readonly error?: boolean;
  readonly fault?: boolean;
  readonly subsegments?: TraceDocument[];
}

export interface TraceNode {
  readonly document: TraceDocument;
  readonly children: TraceNode[];
}

const walk = function* (document: TraceDocument): Generator<TraceDocument> {
  yield document;
  for (const child of document.subsegments ?? []) yield* walk(child);
};

/** Every (sub)segment, nested ones included. */
export const flatten = (documents: readonly TraceDocument[]): TraceDocument[] => documents.flatMap((d) => [...walk(d)]);

/** The trace ids whose segments carry the annotation job_id = jobId. */
export function traceIdsOfJob(documents: readonly TraceDocument[], jobId: string): string[] {
  return [...new Set(flatten(documents).filter((d) => d.annotations?.job_id === jobId).map((d) => d.trace_id))];
}

/** One trace's documents as a forest: each node under the (sub)segment its parent_id names. */
export function traceTree(documents: readonly TraceDocument[], traceId: string): TraceNode[] {
  const all = flatten(documents.filter((d) => d.trace_id === traceId));
  // A subsegment may arrive both inside its segment and on its own: keep one of each id.
  const byId = new Map(all.map((d) => [d.id, d]));
  const nodes = new Map([...byId.values()].map((d) => [d.id, { document: d, children: [] as TraceNode[] }]));
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const parentId = parentOf(node.document, all);
    const parent = parentId ? nodes.get(parentId) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byStart = (a: TraceNode, b: TraceNode) => a.document.start_time - b.document.start_time;
  const sort = (list: TraceNode[]) => {
    list.sort(byStart);
    for (const node of list) sort(node.children);
  };
  sort(roots);
  return roots;
}

/** A nested subsegment's parent is the document that holds it; a top-level one names it in parent_id. */
function parentOf(document: TraceDocument, all: readonly TraceDocument[]): string | undefined {
  const holder = all.find((candidate) => candidate.subsegments?.some((child) => child.id === document.id));
  return holder?.id ?? document.parent_id;
}

/** Text rendering, one line per (sub)segment: name, duration, AWS operation, annotations. */
export function renderTrace(roots: readonly TraceNode[]): string {
  const lines: string[] = [];
  const visit = (node: TraceNode, depth: number) => {
    const d = node.document;
    const ms = d.end_time !== undefined ? `${Math.round((d.end_time - d.start_time) * 1000)} ms` : 'in progress';
    const operation = d.aws?.operation ? ` ${d.aws.operation}` : '';
    const flags = d.fault ? ' FAULT' : d.error ? ' ERROR' : '';
    const notes = Object.entries(d.annotations ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`${'  '.repeat(depth)}${d.name}${operation} (${ms})${flags}${notes ? `  [${notes}]` : ''}`);
    for (const child of node.children) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return lines.join('\n');
}
