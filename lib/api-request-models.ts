// API Gateway request models generated from the zod schemas the intake handler validates with
// (lambdas/core/api-schemas.ts), so the gateway and the handler cannot disagree on the shape.
// API Gateway models are JSON Schema draft 4 with CDK's key spelling ($schema -> schema, $ref -> ref).
import { toJSONSchema, type $ZodType } from 'zod/v4/core';
import { JsonSchemaVersion, type JsonSchema } from 'aws-cdk-lib/aws-apigateway';
import { createUploadRequestSchema, submitJobsRequestSchema } from '../lambdas/core/api-schemas';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// Keys API Gateway's draft-4 validator understands; anything else zod emits is dropped.
const SUPPORTED_KEYS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'uniqueItems',
  'minLength', 'maxLength', 'pattern', 'format', 'enum', 'minimum', 'maximum', 'exclusiveMinimum',
  'exclusiveMaximum', 'multipleOf', 'minProperties', 'maxProperties', 'anyOf', 'oneOf', 'allOf', 'not',
  'description', 'title', 'default', 'definitions', '$ref', 'patternProperties',
]);
// Keys whose value is a map of user-chosen names to schemas, not a schema itself.
const SCHEMA_MAPS = new Set(['properties', 'definitions', 'patternProperties']);

function convert(node: Json, insideMap = false): Json {
  if (Array.isArray(node)) return node.map((item) => convert(item));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    if (insideMap) {
      out[key] = convert(value);
      continue;
    }
    if (!SUPPORTED_KEYS.has(key)) continue;
    const cdkKey = key === '$ref' ? 'ref' : key;
    if (key === 'enum' || key === 'required' || key === 'default') out[cdkKey] = value;
    else out[cdkKey] = convert(value, SCHEMA_MAPS.has(key));
  }
  return out;
}

/** Converts a zod schema to the draft-4 JsonSchema an API Gateway Model takes. */
export function toApiGatewaySchema(schema: $ZodType): JsonSchema {
  const jsonSchema = toJSONSchema(schema, { target: 'draft-4', io: 'input' }) as Json;
  return { schema: JsonSchemaVersion.DRAFT4, ...(convert(jsonSchema) as object) } as JsonSchema;
}

/** Request models by name; the intake-api construct registers each as an API Gateway Model. */
export const REQUEST_MODELS = {
  SubmitJobsRequest: () => toApiGatewaySchema(submitJobsRequestSchema),
  CreateUploadRequest: () => toApiGatewaySchema(createUploadRequestSchema),
} as const;
