// Handler: POST /v1/uploads (API Gateway REST proxy) -> createUpload use case -> presigned S3 PUT.
// Thin: resolve the tenant from the API key API Gateway verified, parse, map the outcome.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError } from '../core/errors';
import { createUpload } from '../core/create-upload';
import { newUploadId } from '../core/ids';
import { errorResponse, jsonResponse, parseJson, readBody } from '../adapters/api-gateway';
import { processTracer } from '../adapters/tracing';
import { buildUploadsDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-uploads' });
const { deps, tenants } = buildUploadsDeps(process.env, { newUploadId });

export async function handleCreateUpload(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  try {
    const apiKeyId = event.requestContext.identity?.apiKeyId;
    const tenant = apiKeyId ? await tenants.findByApiKeyId(apiKeyId) : undefined;
    if (!tenant || tenant.status !== 'active') throw new ApiError('invalid_api_key', 'The API key is not valid.');
    const body = parseJson(readBody(event, deps.settings.api.maxBodyBytes));
    const response = await createUpload(deps, { tenantId: tenant.tenant_id, body });
    // The URL is a bearer credential for one key until it expires: log where, never the URL.
    logger.info('upload signed', { tenantId: tenant.tenant_id, fileUrl: response.file_url });
    return jsonResponse(201, response, requestId);
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error, requestId);
    logger.error('upload signing failed', { error: error as Error });
    return errorResponse(new ApiError('internal_error', 'Something went wrong on our side; retry the request.'), requestId);
  }
}

export const handler = middy(handleCreateUpload).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false }));
