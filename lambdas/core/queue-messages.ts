// Queue message shapes, validated on the way in: a message that does not parse can
// never succeed, so consumers dead-letter it instead of retrying it.
import { z, type ZodMiniType } from './zod';
import type { DeliveryMessage, JobMessage } from './ports';

const id = z.string().check(z.minLength(1), z.maxLength(200));

const jobMessageSchema = z.object({ tenant_id: id, job_id: id });

const deliveryMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('job'), tenant_id: id, job_id: id, event_id: id, redelivery: z.optional(z.boolean()) }),
  z.object({ kind: z.literal('batch'), tenant_id: id, batch_id: id, event_id: id }),
]);

function parseWith<T>(schema: ZodMiniType<T>, body: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export const parseJobMessage = (body: string): JobMessage | undefined => parseWith(jobMessageSchema, body);
export const parseDeliveryMessage = (body: string): DeliveryMessage | undefined => parseWith(deliveryMessageSchema, body);
