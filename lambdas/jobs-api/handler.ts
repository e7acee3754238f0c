// Handler: the read and command routes of the jobs API (API Gateway REST proxy) ->
// job-queries use cases -> DynamoDB / SQS. Thin: route, resolve the tenant, map the result.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callerTenant } from '../core/caller-tenant';
import { ApiError } from '../core/errors';
import { cancelJob, getBatch, getJob, listDeliveries, listJobs, redeliverJob, type JobQueryDeps } from '../core/job-queries';
import { failureResponse, jsonResponse } from '../adapters/api-gateway';
import type { JobsApiRoute } from './routes';
import { processTracer } from '../adapters/tracing';
import { buildJobsApiDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-jobs-api' });
const { deps, tenants } = buildJobsApiDeps(process.env);

type Route = (deps: JobQueryDeps, tenantId: string, event: APIGatewayProxyEvent) => Promise<[number, unknown]>;
const param = (event: APIGatewayProxyEvent, name: string) => event.pathParameters?.[name] ?? '';

/** Method and API Gateway resource (below the v1 stage) -> use case. */
export const ROUTES: Record<JobsApiRoute, Route> = {
  'GET /jobs': async (d, t, e) => [200, await listJobs(d, t, e.queryStringParameters ?? {})],
  'GET /jobs/{job_id}': async (d, t, e) => [200, await getJob(d, t, param(e, 'job_id'))],
  'DELETE /jobs/{job_id}': async (d, t, e) => [200, await cancelJob(d, t, param(e, 'job_id'))],
  'GET /jobs/{job_id}/deliveries': async (d, t, e) => [200, await listDeliveries(d, t, param(e, 'job_id'))],
  'POST /jobs/{job_id}/redeliver': async (d, t, e) => [202, await redeliverJob(d, t, param(e, 'job_id'))],
  'GET /batches/{batch_id}': async (d, t, e) => [200, await getBatch(d, t, param(e, 'batch_id'))],
};

export async function handleJobsApi(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  try {
    const route = ROUTES[`${event.httpMethod} ${event.resource}` as JobsApiRoute] as Route | undefined;
    if (!route) throw new ApiError('not_found', 'No route matches this method and path.');
    const tenant = await callerTenant(tenants, event.requestContext.identity?.apiKeyId);
    const [status, body] = await route(deps, tenant.tenant_id, event);
    return jsonResponse(status, body, requestId);
  } catch (error) {
    return failureResponse(error, requestId, (unexpected) => logger.error('jobs api failed', { error: unexpected }));
  }
}

export const handler = middy(handleJobsApi).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false }));
