// Handler: POST /v1/jobs (API Gateway REST proxy) -> submitJobs use case -> DynamoDB + SQS.
// Thin: resolve the tenant from the API key API Gateway verified, parse, map the outcome.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../core/errors';
import { newBatchId, newJobId } from '../core/ids';
import { submitJobs } from '../core/submit-jobs';
import { errorResponse, header, jsonResponse, parseJson, readBody } from '../adapters/api-gateway';
import { buildIntakeDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-intake' });
const { deps, tenants } = buildIntakeDeps(process.env, { newJobId, newBatchId });

export async function handleSubmitJobs(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  try {
    const apiKeyId = event.requestContext.identity?.apiKeyId;
    const tenant = apiKeyId ? await tenants.findByApiKeyId(apiKeyId) : undefined;
    if (!tenant || tenant.status !== 'active') throw new ApiError('invalid_api_key', 'The API key is not valid.');
    const body = parseJson(readBody(event, deps.settings.api.maxBodyBytes));
    const idempotencyKey = header(event, 'idempotency-key');
    const response = await submitJobs(deps, {
      tenantId: tenant.tenant_id,
      body,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(tenant.media_sources ? { mediaSources: tenant.media_sources } : {}),
    });
    logger.info('batch accepted', { tenantId: tenant.tenant_id, batchId: response.batch_id, files: response.jobs.length });
    return jsonResponse(202, response, requestId);
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error, requestId);
    logger.error('intake failed', { error: error as Error });
    return errorResponse(new ApiError('internal_error', 'Something went wrong on our side; retry the request.'), requestId);
  }
}

export const handler = middy(handleSubmitJobs).use(injectLambdaContext(logger));
