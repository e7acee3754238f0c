// Bench support: cost per 1,000 files on AWS (us-east-1), from what the bench measured (AWS calls
// by operation, DynamoDB capacity units, handler durations, Lambda invocations per file, log bytes)
// and the memory sizes in lib/settings.ts. Pure arithmetic, so the assumptions sit in one place.
import type { CallStat } from './aws-calls';

/**
 * us-east-1 on-demand list prices. Read from the AWS pricing pages as of the bench's writing
 * (2026-11-23; the bench machine has no internet, so they could not be re-fetched at run time).
 */
export const PRICES = {
  readAt: '2026-11-23',
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1e6,
  apiGatewayRestPerRequest: 3.5 / 1e6,
  sqsStandardPerRequest: 0.4 / 1e6,
  dynamoPerWriteUnit: 0.625 / 1e6,
  dynamoPerReadUnit: 0.125 / 1e6,
  s3GetPerRequest: 0.0004 / 1000,
  logsPerGbIngested: 0.5,
  xrayPerTrace: 5 / 1e6,
  /** AWS WAF: $0.60 per million requests (plus $5/month per web ACL and $1 per rule, not per file). */
  wafPerRequest: 0.6 / 1e6,
  /** Per million tokens: Nova Lite (AWS list price), Voxtral Small (docs/bedrock.md, not re-verified). */
  novaLite: { input: 0.06, output: 0.24 },
  voxtralSmall: { input: 0.1, output: 0.3 },
} as const;

/** Token counts per file from docs/bedrock.md ("What a file costs"). */
export const TOKENS = {
  image: { input: 2150, output: 200, note: '1024x768 JPEG on Nova Lite: ~1,900-2,400 input (midpoint), ~200 output' },
  audioMinute: { input: 1350, output: 200, note: 'one-minute clip on Voxtral Small: ~1,350 input, ~200 output' },
} as const;

/** Assumed model latencies the extractor waits out (billed Lambda time); not measured here. */
export const MODEL_WAIT_SECONDS = { image: 2, audioMinute: 4 } as const;

/** Lambda writes START, END and REPORT lines per invocation (~340 bytes together). */
const PLATFORM_LOG_BYTES_PER_INVOCATION = 340;
/** Default X-Ray sampling: the first request each second, then 5%. At volume, about 5% of invocations. */
const XRAY_SAMPLED_SHARE = 0.05;

export interface CostInputs {
  /** All calls of the measured run and the files it processed. */
  readonly calls: readonly CallStat[];
  readonly files: number;
  /** Per entity: GSIs an item of it is written to (from the table after the run). */
  readonly gsiCountByEntity: Record<string, number>;
  readonly invocationsPerFile: { readonly intake: number; readonly extractor: number; readonly callback: number };
  /** Billed milliseconds per file per handler. */
  readonly handlerMsPerFile: { readonly intake: number; readonly extractor: number; readonly callback: number };
  readonly memoryMb: { readonly intake: number; readonly extractor: number; readonly callback: number };
  readonly logBytesPerFile: number;
  readonly filesPerRequest: number;
  /** Table + index WRU per file from the capacity model; overrides the per-entity GSI estimate. */
  readonly writeUnitsPerFile?: number;
}

export interface CostLine {
  readonly item: string;
  readonly basis: string;
  readonly per1000: number;
}

const BILLED_ORIGINS = new Set(['intake', 'extractor', 'callback', 'event-source']);

export function costPer1000(inputs: CostInputs): { lines: CostLine[]; total: number; writeUnitsPerFile: number; readUnitsPerFile: number } {
  const perFile = (n: number) => n / inputs.files;
  const billed = inputs.calls.filter((c) => BILLED_ORIGINS.has(c.origin));
  const count = (service: string, operation?: string) =>
    perFile(billed.filter((c) => c.service === service && (operation === undefined || c.operation === operation)).reduce((s, c) => s + c.count, 0));

  const writeOps = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
  const dynamo = billed.filter((c) => c.service === 'DynamoDB');
  let writeUnits = 0;
  let readUnits = 0;
  for (const call of dynamo) {
    if (writeOps.has(call.operation)) {
      writeUnits += call.capacityUnits;
      // Every GSI an item is projected into is written too (projection ALL, lib/table-design.ts).
      for (const [entity, units] of Object.entries(call.writeUnitsByEntity)) writeUnits += (units ?? 0) * (inputs.gsiCountByEntity[entity] ?? 0);
    } else {
      readUnits += call.capacityUnits;
    }
  }
  const wruPerFile = inputs.writeUnitsPerFile ?? perFile(writeUnits);
  const rruPerFile = perFile(readUnits);

  const gbSeconds = (['intake', 'extractor', 'callback'] as const).reduce(
    (sum, h) => sum + (inputs.memoryMb[h] / 1024) * (inputs.handlerMsPerFile[h] / 1000),
    0,
  );
  const invocations = inputs.invocationsPerFile.intake + inputs.invocationsPerFile.extractor + inputs.invocationsPerFile.callback;
  const logBytes = inputs.logBytesPerFile + invocations * PLATFORM_LOG_BYTES_PER_INVOCATION;
  const sqs = count('SQS');
  const lines: CostLine[] = [
    { item: 'API Gateway REST', basis: `${(1 / inputs.filesPerRequest).toFixed(3)} requests/file`, per1000: (1000 / inputs.filesPerRequest) * PRICES.apiGatewayRestPerRequest },
    { item: 'AWS WAF requests', basis: 'request size guard on the API stage (monthly ACL/rule fees excluded)', per1000: (1000 / inputs.filesPerRequest) * PRICES.wafPerRequest },
    { item: 'Lambda duration (Arm)', basis: `${(gbSeconds * 1000).toFixed(2)} GB-ms/file`, per1000: 1000 * gbSeconds * PRICES.lambdaArmPerGbSecond },
    { item: 'Lambda requests', basis: `${invocations.toFixed(3)} invocations/file`, per1000: 1000 * invocations * PRICES.lambdaPerRequest },
    { item: 'SQS requests', basis: `${sqs.toFixed(2)} requests/file (handlers + event source)`, per1000: 1000 * sqs * PRICES.sqsStandardPerRequest },
    { item: 'DynamoDB writes', basis: `${wruPerFile.toFixed(2)} WRU/file (GSIs included${inputs.writeUnitsPerFile !== undefined ? ', capacity model' : ''})`, per1000: 1000 * wruPerFile * PRICES.dynamoPerWriteUnit },
    { item: 'DynamoDB reads', basis: `${rruPerFile.toFixed(2)} RRU/file`, per1000: 1000 * rruPerFile * PRICES.dynamoPerReadUnit },
    { item: 'S3 GET', basis: `${count('S3').toFixed(2)} requests/file`, per1000: 1000 * count('S3') * PRICES.s3GetPerRequest },
    { item: 'CloudWatch Logs', basis: `${(logBytes / 1024).toFixed(2)} KB/file at INFO`, per1000: (1000 * logBytes * PRICES.logsPerGbIngested) / 1024 ** 3 },
    { item: 'X-Ray', basis: `~${(XRAY_SAMPLED_SHARE * 100).toFixed(0)}% of invocations sampled`, per1000: 1000 * invocations * XRAY_SAMPLED_SHARE * PRICES.xrayPerTrace },
  ];
  return { lines, total: lines.reduce((s, l) => s + l.per1000, 0), writeUnitsPerFile: wruPerFile, readUnitsPerFile: rruPerFile };
}

/** The model's share per 1,000 files: tokens plus the Lambda time spent waiting for the model. */
export function modelCostPer1000(extractorMemoryMb: number) {
  const tokens = (price: { input: number; output: number }, t: { input: number; output: number }) =>
    (1000 * (t.input * price.input + t.output * price.output)) / 1e6;
  const wait = (seconds: number) => 1000 * (extractorMemoryMb / 1024) * seconds * PRICES.lambdaArmPerGbSecond;
  return {
    image: { tokens: tokens(PRICES.novaLite, TOKENS.image), lambdaWait: wait(MODEL_WAIT_SECONDS.image) },
    audioMinute: { tokens: tokens(PRICES.voxtralSmall, TOKENS.audioMinute), lambdaWait: wait(MODEL_WAIT_SECONDS.audioMinute) },
  };
}
