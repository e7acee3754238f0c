// cdk-nag (AwsSolutions) findings this stack accepts, each with the reason a reviewer needs.
// IAM5 is acknowledged per finding (the exact wildcard resource), so any new wildcard still fails.
import { Stack, Validations } from 'aws-cdk-lib';
import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { foundationModelId, inferenceProfileGeography } from '../deploy-config';
import type { MetahookStack } from '../metahook-stack';
import { TENANT_MEDIA_ROOT } from '../../lambdas/core/media-scope';
import type { PipelineFunction } from './pipeline-function';

const PACK = 'AwsSolutions::';

function acknowledge(construct: IConstruct, rule: string, reason: string): void {
  Validations.of(construct).acknowledge({ id: `${PACK}${rule}`, reason });
}

/** How cdk-nag spells `<Resource.Arn>` for a resource's Arn attribute in a finding id. */
const arnRef = (stack: Stack, construct: IConstruct): string =>
  `<${stack.getLogicalId(construct.node.defaultChild as CfnResource)}.Arn>`;

export interface NagAcknowledgementInputs {
  readonly allowedSourceBuckets: readonly string[];
  readonly modelIds: readonly string[];
}

export function acknowledgeNagFindings(stack: MetahookStack, inputs: NagAcknowledgementInputs): void {
  const tableArn = arnRef(stack, stack.storage.table);
  const functions: PipelineFunction[] = [
    stack.intakeApi.intake,
    stack.intakeApi.jobsApi,
    stack.extraction.extractor,
    stack.delivery.callback,
    stack.sweeper.sweeper,
    stack.intakeApi.uploads,
  ];
  for (const fn of functions) {
    acknowledge(fn.function, 'AwsSolutions-L1',
      'Node.js 22 is the runtime the project pins (bundles target node22, tested on 22); move to a newer runtime deliberately, not by default.');
    acknowledge(fn.role, 'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions.');
  }
  acknowledge(stack.intakeApi.jobsApi.role, `AwsSolutions-IAM5[Resource::${tableArn}/index/*]`,
    'Query on the table\'s own GSIs (gsi1, gsi2; lib/table-design.ts); the wildcard covers only this table\'s indexes.');

  const extractorRole = stack.extraction.extractor.role;
  const tenantObjects = `${arnRef(stack, stack.storage.mediaBucket)}/${TENANT_MEDIA_ROOT}*`;
  acknowledge(extractorRole, `AwsSolutions-IAM5[Resource::${tenantObjects}]`,
    's3:GetObject on the tenant upload prefixes (tenants/*) of the media staging bucket; keys are chosen per upload, so they cannot be listed in advance, and the reader checks the job\'s own tenant prefix before every read (lambdas/core/media-scope.ts).');
  acknowledge(stack.intakeApi.uploads.role, `AwsSolutions-IAM5[Resource::${tenantObjects}]`,
    's3:PutObject below tenants/ of the media bucket: the presigned URLs it signs carry this role\'s permissions, and each is signed for one fresh key under the caller\'s own tenants/<tenant id>/ prefix (lambdas/core/create-upload.ts); the tenant id is known only per request.');
  for (const bucket of inputs.allowedSourceBuckets) {
    acknowledge(extractorRole, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/*]`,
      `s3:GetObject on objects of "${bucket}", a source bucket the deployer allowlisted (allowedSourceBuckets); keys are caller-chosen.`);
  }
  for (const modelId of inputs.modelIds) {
    if (inferenceProfileGeography(modelId) !== 'global') continue;
    acknowledge(extractorRole, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/${foundationModelId(modelId)}]`,
      'A global inference profile routes to any commercial Region; the statement is limited to this one model and, by the bedrock:InferenceProfileArn condition, to calls through the configured profile.');
  }

  acknowledge(stack.storage.mediaBucket, 'AwsSolutions-S1',
    'Staging bucket whose objects expire within days and are only read by the extractor role; audit object access with CloudTrail S3 data events (account or organisation trail) rather than a second, unexpiring log bucket.');

  const api = stack.intakeApi.api;
  acknowledge(api, 'AwsSolutions-APIG4',
    'Callers authenticate with per-tenant API keys (apiKeyRequired on every method, usage plan); the intake handler resolves the tenant from the key id. Integrators are servers holding a key, not users with IAM or Cognito identities.');
  acknowledge(api, 'AwsSolutions-COG4',
    'No end users: tenants are machine clients authenticated by API key (see AwsSolutions-APIG4).');
  const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole) {
    acknowledge(cloudWatchRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level role API Gateway uses for access and execution logs; AWS documents this managed policy as the one to attach.');
  }
}
