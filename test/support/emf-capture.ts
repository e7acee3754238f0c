// Test support: collects the CloudWatch EMF records Powertools Metrics writes to stdout, so a test
// can assert what each stage publishes (name, unit, value, dimension sets) as CloudWatch would read it.
export interface EmfRecord {
  readonly _aws: {
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string;
      readonly Dimensions: string[][];
      readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit: string }>;
    }>;
  };
  readonly [key: string]: unknown;
}

export interface EmfCapture {
  records(): EmfRecord[];
  /** Values of `name` in records whose dimensions match `dimensions` (a record may hold an array). */
  values(name: string, dimensions?: Record<string, string>): number[];
  stop(): void;
}

/** Captures stdout lines that are EMF records; other output still reaches the terminal. */
export function captureEmf(): EmfCapture {
  const original = process.stdout.write.bind(process.stdout);
  const records: EmfRecord[] = [];
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let other = '';
    for (const line of text.split('\n')) {
      if (line.includes('"_aws":{')) {
        try {
          records.push(JSON.parse(line) as EmfRecord);
          continue;
        } catch {
          // not a whole record: pass it through
        }
      }
      if (line !== '') other += `${line}\n`;
    }
    if (other === '') {
      (rest.find((arg) => typeof arg === 'function') as (() => void) | undefined)?.();
      return true;
    }
    return original(other, ...(rest as []));
  }) as typeof process.stdout.write;
  return {
    records: () => [...records],
    values(name, dimensions = {}) {
      return records
        .filter((record) => record._aws.CloudWatchMetrics.some((m) => m.Metrics.some((metric) => metric.Name === name)))
        .filter((record) => Object.entries(dimensions).every(([key, value]) => record[key] === value))
        .flatMap((record) => {
          const value = record[name];
          return Array.isArray(value) ? (value as number[]) : [value as number];
        });
    },
    stop() {
      process.stdout.write = original;
    },
  };
}
