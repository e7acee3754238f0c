// The committed contract is the generated one, its references resolve, and the zod response
// schemas describe what the use cases actually return (checked by the type checker).
import { describe, expect, expectTypeOf, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOpenApiDocument, documentedErrorCodes, renderOpenApiDocument, API_ROUTES } from '../../lib/openapi';
import type { Infer } from '../../lambdas/core/zod';
import type {
  batchCompletedEventSchema,
  batchViewSchema,
  ErrorEnvelope,
  jobCompletedEventSchema,
  jobFailedEventSchema,
  jobDeliveriesSchema,
  jobListSchema,
  jobViewSchema,
  redeliverResponseSchema,
  submitJobsResponseSchema,
  SubmitJobsResponse,
  errorEnvelopeSchema,
} from '../../lambdas/core/api-schemas';
import type { getBatch, jobView, listDeliveries, listJobs, redeliverJob } from '../../lambdas/core/job-queries';
import type { BatchCompletedEvent, JobEvent } from '../../lambdas/core/events';

describe('docs/openapi.json', () => {
  it('is up to date with the schemas (regenerate: npx tsx scripts/write-openapi.ts)', async () => {
    const committed = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'openapi.json'), 'utf8');
    expect(committed).toBe(renderOpenApiDocument());
  });

  it('has only references that resolve inside the document', () => {
    const document = buildOpenApiDocument() as any;
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(document);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(document.components.schemas[ref.split('/').at(-1)!], ref).toBeDefined();
    }
  });

  it('documents each error code under the HTTP status it is sent with', () => {
    const document = buildOpenApiDocument() as any;
    const cancel = document.paths['/jobs/{job_id}'].delete.responses;
    expect(cancel['409'].content['application/json'].schema.allOf[1].properties.error.properties.code.enum).toEqual(['job_not_cancellable']);
    expect(cancel['404']).toBeDefined();
    expect(cancel['403']).toBeDefined();
    expect(document.paths['/jobs'].get.responses['422']).toBeUndefined();
    const submit = documentedErrorCodes('POST /jobs');
    expect(submit.get(422)).toEqual(
      expect.arrayContaining(['unsupported_media_type', 'idempotency_key_reused', 'callback_url_forbidden', 'file_url_forbidden']),
    );
    expect(submit.get(429)).toEqual(['rate_limited', 'quota_exceeded']);
    for (const route of API_ROUTES) expect(documentedErrorCodes(route).get(404) ?? ['not_found']).toContain('not_found');
  });

  it('keeps the request object strict and responses open to new fields', () => {
    const schemas = (buildOpenApiDocument() as any).components.schemas;
    expect(schemas.SubmitJobsRequest.additionalProperties).toBe(false);
    expect(schemas.JobView.additionalProperties).toBeUndefined();
    expect(schemas.JobView.required).toEqual(expect.arrayContaining(['job_id', 'status', 'delivery']));
  });
});

describe('response schemas match what the use cases return', () => {
  it('type-checks (compile-time assertions)', () => {
    expectTypeOf<ReturnType<typeof jobView>>().toExtend<Infer<typeof jobViewSchema>>();
    expectTypeOf<Awaited<ReturnType<typeof listJobs>>>().toExtend<Infer<typeof jobListSchema>>();
    // counts is built as a Record over JOB_STATUSES; every other field must match exactly.
    expectTypeOf<Omit<Awaited<ReturnType<typeof getBatch>>, 'counts'>>().toExtend<Omit<Infer<typeof batchViewSchema>, 'counts'>>();
    expectTypeOf<Awaited<ReturnType<typeof listDeliveries>>>().toExtend<Infer<typeof jobDeliveriesSchema>>();
    expectTypeOf<Awaited<ReturnType<typeof redeliverJob>>>().toExtend<Infer<typeof redeliverResponseSchema>>();
    expectTypeOf<Infer<typeof submitJobsResponseSchema>>().toExtend<SubmitJobsResponse>();
    expectTypeOf<Infer<typeof errorEnvelopeSchema>>().toExtend<ErrorEnvelope>();
    expectTypeOf<JobEvent['type']>().toEqualTypeOf<Infer<typeof jobCompletedEventSchema>['type'] | Infer<typeof jobFailedEventSchema>['type']>();
    expectTypeOf<Omit<JobEvent['data'], 'result' | 'error'>>().toExtend<Omit<Infer<typeof jobFailedEventSchema>['data'], 'error'>>();
    expectTypeOf<BatchCompletedEvent>().toExtend<Infer<typeof batchCompletedEventSchema>>();
  });
});
