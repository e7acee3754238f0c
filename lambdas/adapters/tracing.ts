// Adapter: X-Ray tracing for every handler (Powertools Tracer) and the trace context that travels
// with a job through the queues, so intake -> extractor -> callback shows as one trace per job.
//
// On Lambda the runtime gives each invocation a segment; an SQS-triggered invocation's segment
// starts a NEW trace that X-Ray only links to the messages' traces ("Tracing event-driven
// applications", https://docs.aws.amazon.com/xray/latest/devguide/xray-tracelinking.html). A batch
// holds records of many jobs (many traces), so one invocation cannot continue them all. Each
// record's work therefore runs in its own segment that continues the record's trace header (the
// approach of aws-xray-lambda-segment-shim; Powertools has no API for it: powertools-lambda-typescript
// PR 364, powertools-lambda issue 59). The X-Ray SDK sends that segment to the daemon like any other.
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { SQSRecord } from 'aws-lambda';
import xray from 'aws-xray-sdk-core';

/**
 * One tracer per process, shared by the SDK clients (aws-clients.ts) and the handler middleware,
 * made on first use. Tracing is on only inside Lambda (AWS_EXECUTION_ENV), which the local stack
 * sets before it builds any client. HTTPS capture stays off: it patches the global http module
 * (init cost) and would add our X-Amzn-Trace-Id to every webhook a tenant receives; the webhook
 * POST and the model call get their own subsegments instead (inSubsegment, in the wiring).
 */
export function processTracer(): Tracer {
  shared ??= new Tracer({ captureHTTPsRequests: false });
  return shared;
}
let shared: Tracer | undefined;

/** The message attribute that carries the header: the emulator keeps message attributes but drops AWSTraceHeader. */
export const TRACE_HEADER_ATTRIBUTE = 'trace_header';

type AnySegment = xray.Segment | xray.Subsegment;

const rootOf = (segment: AnySegment): xray.Segment =>
  segment instanceof xray.Subsegment ? (segment.segment as xray.Segment) : segment;

// What Powertools' Tracer means to set: its ESM build sets AWS_XRAY_CONTEXT_MISSING only after the
// SDK has read it. Work outside any segment (the local stack's own calls) is then simply not traced.
// A value set before start-up wins (the SDK ignores this call then).
xray.setContextMissingStrategy((process.env.AWS_XRAY_CONTEXT_MISSING ?? 'IGNORE_ERROR') as 'IGNORE_ERROR');

/** The active (sub)segment, without the SDK's context-missing report when there is none. */
const currentSegment = (): AnySegment | undefined =>
  processTracer().isTracingEnabled() ? (xray.getNamespace().get('segment') as AnySegment | undefined) : undefined;

/** `Root=...;Parent=...;Sampled=...` of the current (sub)segment, or undefined when nothing is traced. */
export function currentTraceHeader(): string | undefined {
  const segment = currentSegment();
  if (!segment) return undefined;
  const root = rootOf(segment);
  if (!root.trace_id || /^1-00000000-0{24}$/.test(root.trace_id)) return undefined; // a Lambda facade with no trace
  return `Root=${root.trace_id};Parent=${segment.id};Sampled=${(segment as { notTraced?: boolean }).notTraced ? 0 : 1}`;
}

export interface ParsedTraceHeader {
  readonly root: string;
  readonly parent?: string;
  readonly sampled: boolean;
}

/** Parses an X-Ray trace header (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader). */
export function parseTraceHeader(header: string | undefined): ParsedTraceHeader | undefined {
  if (!header) return undefined;
  const fields = new Map(header.split(';').map((part) => part.trim().split('=') as [string, string]));
  const root = fields.get('Root');
  if (!root || !/^1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(root)) return undefined;
  const parent = fields.get('Parent');
  return { root, ...(parent && /^[0-9a-f]{16}$/.test(parent) ? { parent } : {}), sampled: fields.get('Sampled') !== '0' };
}

/** The trace header a record carries: our message attribute first, then SQS's AWSTraceHeader. */
export function recordTraceHeader(record: SQSRecord): string | undefined {
  return record.messageAttributes?.[TRACE_HEADER_ATTRIBUTE]?.stringValue
    ?? (record.attributes as { AWSTraceHeader?: string }).AWSTraceHeader;
}

export type TraceAnnotations = Readonly<Record<string, string | undefined>>;

/**
 * Runs one record's work in a segment of the record's own trace (a new trace when the record
 * carries none), annotated for search (tenant_id, job_id, batch_id), and closes it with the error.
 */
export async function inRecordTrace<T>(
  name: string,
  traceHeader: string | undefined,
  annotations: TraceAnnotations,
  work: () => Promise<T>,
): Promise<T> {
  if (!processTracer().isTracingEnabled()) return work();
  const parsed = parseTraceHeader(traceHeader);
  const segment = new xray.Segment(name, parsed?.root, parsed?.parent);
  segment.origin = 'AWS::Lambda::Function';
  if (parsed && !parsed.sampled) (segment as { notTraced?: boolean }).notTraced = true;
  annotate(segment, annotations);
  return xray.getNamespace().runAndReturn(async () => {
    xray.setSegment(segment);
    try {
      const result = await work();
      segment.close();
      return result;
    } catch (error) {
      segment.close(error as Error);
      throw error;
    }
  });
}

/** Annotations on the current subsegment (e.g. the handler's `## index.handler`). */
export function annotateCurrent(annotations: TraceAnnotations): void {
  const segment = currentSegment();
  if (segment) annotate(segment, annotations);
}

function annotate(segment: AnySegment, annotations: TraceAnnotations): void {
  for (const [key, value] of Object.entries(annotations)) if (value !== undefined) segment.addAnnotation(key, value);
}

/** Times `work` as a named subsegment of the current trace (a model call, a webhook attempt). */
export async function inSubsegment<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (!currentSegment()) return work();
  return processTracer().provider.captureAsyncFunc(name, async (subsegment) => {
    try {
      const result = await work();
      subsegment?.close();
      return result;
    } catch (error) {
      subsegment?.close(error as Error);
      throw error;
    }
  }) as Promise<T>;
}

interface SentEntry {
  MessageAttributes?: Record<string, { DataType: string | undefined; StringValue?: string }>;
  MessageSystemAttributes?: Record<string, { DataType: string | undefined; StringValue?: string }>;
}

/** Message attributes that carry `header` (or none when there is no trace), for a message sent later. */
export const traceHeaderAttributes = (header: string | undefined): Pick<SentEntry, 'MessageAttributes' | 'MessageSystemAttributes'> =>
  header
    ? {
      MessageAttributes: { [TRACE_HEADER_ATTRIBUTE]: { DataType: 'String', StringValue: header } },
      MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: header } },
    }
    : {};

/**
 * SQS client middleware: every message sent gets the current trace header, unless it already has
 * one (a message queued on behalf of another record, see sqs-batching-delivery-queue.ts). The header
 * goes in AWSTraceHeader, the attribute SQS and Lambda read on AWS (it wins over the HTTP header,
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html, and counts against no
 * quota), and in a message attribute, which the local emulator keeps and the consumer reads first.
 */
export function propagateTraceHeader<C extends { middlewareStack: { add: (...args: any[]) => void } }>(client: C): C {
  client.middlewareStack.add(
    (next: (args: { input: unknown }) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: unknown }) => {
      const header = currentTraceHeader();
      if (!header) return next(args);
      const withHeader = (entry: SentEntry): SentEntry => {
        if (entry.MessageAttributes?.[TRACE_HEADER_ATTRIBUTE]) return entry;
        const added = traceHeaderAttributes(header);
        return {
          ...entry,
          MessageAttributes: { ...entry.MessageAttributes, ...added.MessageAttributes },
          MessageSystemAttributes: { ...entry.MessageSystemAttributes, ...added.MessageSystemAttributes },
        };
      };
      const input = args.input as SentEntry & { Entries?: SentEntry[] };
      if (context.commandName === 'SendMessageCommand') return next({ ...args, input: withHeader(input) });
      if (context.commandName === 'SendMessageBatchCommand' && input.Entries) {
        return next({ ...args, input: { ...input, Entries: input.Entries.map(withHeader) } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'metahookTraceHeader' },
  );
  return client;
}
