// Bench support: records every write the handlers send to the application table, with the item's
// before and after images (read with the recorder's own client, outside the handlers' count), so
// the capacity model can tell which partition keys each write reaches on the table and on each
// index, and how many WCU it costs there. Wraps `send` on the SDK clients' shared base prototype
// (as bench/lib/aws-calls.ts does); only writes made while `active` are kept.
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MarshalledItem } from './dynamo-item-size';

export interface RecordedWrite {
  readonly operation: string;
  readonly key: { pk: string; sk: string };
  readonly before: MarshalledItem | undefined;
  readonly after: MarshalledItem | undefined;
  /** A refused conditional write: billed 1 WCU on the table, no index written. */
  readonly refused: boolean;
}

const WRITES = new Set(['PutCommand', 'UpdateCommand', 'DeleteCommand', 'BatchWriteCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteCommand', 'TransactWriteItemsCommand']);

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as AttributeValue).S === 'string' ? (v as AttributeValue).S : undefined;

/** The (table, key) pairs one write command touches. */
function targets(input: Record<string, any>): Array<{ table: string; pk: string; sk: string }> {
  const one = (table: string, keyOrItem: Record<string, unknown> | undefined) => {
    const pk = str(keyOrItem?.pk);
    const sk = str(keyOrItem?.sk);
    return pk !== undefined && sk !== undefined ? [{ table, pk, sk }] : [];
  };
  if (input.RequestItems) {
    return Object.entries(input.RequestItems as Record<string, any[]>).flatMap(([table, requests]) =>
      requests.flatMap((r) => one(table, r.PutRequest?.Item ?? r.DeleteRequest?.Key)));
  }
  if (input.TransactItems) {
    return (input.TransactItems as any[]).flatMap((t) => {
      const op = t.Put ?? t.Update ?? t.Delete;
      return op ? one(op.TableName, op.Item ?? op.Key) : [];
    });
  }
  return one(input.TableName, input.Item ?? input.Key);
}

export interface WriteRecorder {
  active: boolean;
  readonly writes: RecordedWrite[];
  /** Where to read before/after images; set once the emulator runs. */
  connect(endpoint: string, tableName: string): void;
  uninstall(): void;
}

export function installWriteRecorder(): WriteRecorder {
  const bases = new Set([DynamoDBClient, DynamoDBDocumentClient].map((c) => Object.getPrototypeOf(c.prototype) as { send: (...a: any[]) => Promise<any> }));
  const originals = new Map([...bases].map((b) => [b, b.send] as const));
  const original = originals.values().next().value!;
  let reader: DynamoDBClient | undefined;
  let table = '';
  const recorder: WriteRecorder = {
    active: false,
    writes: [],
    connect(endpoint, tableName) {
      reader = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      table = tableName;
    },
    uninstall() {
      for (const [proto, send] of originals) proto.send = send;
      reader?.destroy();
    },
  };
  const read = async (pk: string, sk: string): Promise<MarshalledItem | undefined> => {
    const out = await original.call(reader, new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }));
    return out.Item as MarshalledItem | undefined;
  };
  for (const [proto, send] of originals) {
    proto.send = async function recordedSend(this: object, command: { input?: Record<string, any> }, ...rest: unknown[]) {
      const name = command.constructor.name;
      if (!recorder.active || !reader || this === reader || !WRITES.has(name)) return send.call(this, command, ...rest);
      const touched = targets(command.input ?? {}).filter((t) => t.table === table);
      if (touched.length === 0) return send.call(this, command, ...rest);
      const before = await Promise.all(touched.map((t) => read(t.pk, t.sk)));
      const operation = name.replace(/Command$/, '');
      try {
        const output = await send.call(this, command, ...rest);
        const after = await Promise.all(touched.map((t) => read(t.pk, t.sk)));
        touched.forEach((t, i) => recorder.writes.push({ operation, key: { pk: t.pk, sk: t.sk }, before: before[i], after: after[i], refused: false }));
        return output;
      } catch (error) {
        if ((error as Error)?.name === 'ConditionalCheckFailedException') {
          touched.forEach((t, i) => recorder.writes.push({ operation, key: { pk: t.pk, sk: t.sk }, before: before[i], after: before[i], refused: true }));
        }
        throw error;
      }
    };
  }
  return recorder;
}
