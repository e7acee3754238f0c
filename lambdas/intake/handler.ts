// Handler: POST /v1/jobs (API Gateway REST proxy) -> submitJobs use case -> DynamoDB + SQS.
// Thin: resolve the tenant from the API key API Gateway verified, parse, map the outcome.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../core/errors';
import { callerTenant } from '../core/caller-tenant';
import { newBatchId, newJobId } from '../core/ids';
import { METRIC, METRIC_SERVICE, METRICS_NAMESPACE } from '../core/metric-names';
import { submitJobs } from '../core/submit-jobs';
import { failureResponse, header, jsonResponse, parseJson, readBody } from '../adapters/api-gateway';
import { emitPoints } from '../adapters/observed-ports';
import { annotateCurrent, processTracer } from '../adapters/tracing';
import { buildIntakeDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-intake' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICE.intake });
const { deps, tenants } = buildIntakeDeps(process.env, { newJobId, newBatchId });

/** Files a request names, for the refused-files metric (0 when the body is not a batch). */
const filesIn = (body: unknown): number =>
  Array.isArray((body as { files?: unknown } | null)?.files) ? (body as { files: unknown[] }).files.length : 0;

export async function handleSubmitJobs(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  let files = 0;
  try {
    const tenant = await callerTenant(tenants, event.requestContext.identity?.apiKeyId);
    const body = parseJson(readBody(event, deps.settings.api.maxBodyBytes));
    files = filesIn(body);
    const idempotencyKey = header(event, 'idempotency-key');
    const response = await submitJobs(deps, {
      tenantId: tenant.tenant_id,
      body,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(tenant.media_sources ? { mediaSources: tenant.media_sources } : {}),
    });
    annotateCurrent({ tenant_id: tenant.tenant_id, batch_id: response.batch_id });
    metrics.addMetric(METRIC.filesAccepted, MetricUnit.Count, response.jobs.length);
    logger.info('batch accepted', { tenantId: tenant.tenant_id, batchId: response.batch_id, files: response.jobs.length });
    return jsonResponse(202, response, requestId);
  } catch (error) {
    const code = error instanceof ApiError ? error.code : 'internal_error';
    emitPoints(metrics, { code }, [
      [METRIC.requestsRefused, MetricUnit.Count, 1],
      [METRIC.filesRefused, MetricUnit.Count, files],
    ]);
    return failureResponse(error, requestId, (unexpected) => logger.error('intake failed', { error: unexpected }));
  }
}

export const handler = middy(handleSubmitJobs).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false }))
  .use(logMetrics(metrics));
