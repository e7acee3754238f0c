// bedrock:InvokeModel (which authorises Converse) scoped to the configured models only.
// An in-Region model id needs its foundation-model ARN. A geographic inference profile
// ("us.", "eu.", ...) needs the profile ARN AND the foundation model in every Region the
// profile may route to, the calling Region included. A "global." profile may route to any
// commercial Region, so its foundation-model statement is Region-wildcarded and held to
// calls made through that profile by the bedrock:InferenceProfileArn condition.
import { Aws, Stack, Token } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { INFERENCE_PROFILE_ROUTING_REGIONS, foundationModelId, inferenceProfileGeography } from '../deploy-config';

export interface BedrockAccessOptions {
  /** Overrides the routing table for geographic profiles; empty = INFERENCE_PROFILE_ROUTING_REGIONS. */
  readonly routingRegions?: readonly string[];
}

export function bedrockInvokeStatements(
  scope: Construct,
  modelIds: readonly string[],
  options: BedrockAccessOptions = {},
): PolicyStatement[] {
  const stack = Stack.of(scope);
  const foundationModelArn = (region: string, model: string) =>
    `arn:${Aws.PARTITION}:bedrock:${region}::foundation-model/${model}`;
  const profileArn = (id: string) =>
    id.startsWith('arn:') ? id : `arn:${Aws.PARTITION}:bedrock:${stack.region}:${stack.account}:inference-profile/${id}`;

  const direct = new Set<string>();
  const statements: PolicyStatement[] = [];
  for (const modelId of new Set(modelIds)) {
    const geo = inferenceProfileGeography(modelId);
    const model = foundationModelId(modelId);
    if (geo === undefined) {
      direct.add(modelId.startsWith('arn:') ? modelId : foundationModelArn(stack.region, model));
      continue;
    }
    direct.add(profileArn(modelId));
    if (geo === 'global') {
      statements.push(
        new PolicyStatement({
          sid: `InvokeGlobalProfileModel${statements.length}`,
          actions: ['bedrock:InvokeModel'],
          resources: [foundationModelArn('*', model), `arn:${Aws.PARTITION}:bedrock:::foundation-model/${model}`],
          conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn(modelId) } },
        }),
      );
      continue;
    }
    const routed = options.routingRegions?.length ? options.routingRegions : (INFERENCE_PROFILE_ROUTING_REGIONS[geo] ?? []);
    const regions = new Set(routed);
    // The calling Region is always a destination of its own geography's profile.
    if (Token.isUnresolved(stack.region) || !regions.has(stack.region)) direct.add(foundationModelArn(stack.region, model));
    for (const region of regions) direct.add(foundationModelArn(region, model));
  }
  statements.unshift(
    new PolicyStatement({ sid: 'InvokeConfiguredModels', actions: ['bedrock:InvokeModel'], resources: [...direct].sort() }),
  );
  return statements;
}
