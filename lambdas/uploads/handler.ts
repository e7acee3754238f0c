// Handler: POST /v1/uploads (API Gateway REST proxy) -> createUpload use case -> presigned S3 PUT.
// Thin: resolve the tenant from the API key API Gateway verified, parse, map the outcome.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { callerTenant } from '../core/caller-tenant';
import { createUpload } from '../core/create-upload';
import { newUploadId } from '../core/ids';
import { failureResponse, jsonResponse, parseJson, readBody } from '../adapters/api-gateway';
import { processTracer } from '../adapters/tracing';
import { buildUploadsDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-uploads' });
const { deps, tenants } = buildUploadsDeps(process.env, { newUploadId });

export async function handleCreateUpload(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  try {
    const tenant = await callerTenant(tenants, event.requestContext.identity?.apiKeyId);
    const body = parseJson(readBody(event, deps.settings.api.maxBodyBytes));
    const response = await createUpload(deps, { tenantId: tenant.tenant_id, body });
    // The URL is a bearer credential for one key until it expires: log where, never the URL.
    logger.info('upload signed', { tenantId: tenant.tenant_id, fileUrl: response.file_url });
    return jsonResponse(201, response, requestId);
  } catch (error) {
    return failureResponse(error, requestId, (unexpected) => logger.error('upload signing failed', { error: unexpected }));
  }
}

export const handler = middy(handleCreateUpload).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false }));
