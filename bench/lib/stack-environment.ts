// Bench helper: each handler's environment as the deployed stack gives it. Synthesizes the same
// stack lib/ builds (test/cdk/synth-stack.ts: cdk.json context, bundling skipped), reads every
// function's Environment.Variables from the template, resolves the CloudFormation references in
// them to values shaped like the real ones, and adds what the Lambda runtime sets. The cold-start
// bench and its smoke test import bundles with this, so a variable a handler starts to require
// reaches the bench the moment the constructs pass it (and fails there when they do not).
import { HANDLER_ENTRIES, type HandlerName } from '../../lib/constructs/pipeline-function';
import { synthStack, TEST_ENV } from '../../test/cdk/synth-stack';

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

export interface DeployedFunction {
  readonly logicalId: string;
  /** Environment.Variables with every reference resolved. */
  readonly environment: Record<string, string>;
  readonly tracingMode: string | undefined;
  readonly memoryMb: number;
}

const PSEUDO: Record<string, string> = {
  'AWS::Region': TEST_ENV.region,
  'AWS::AccountId': TEST_ENV.account,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Metahook-test',
};

/** What `Ref` returns per resource type (CloudFormation "Return values" of each resource). */
function refOf(logicalId: string, resource: CfnResource): string {
  const { region, account } = TEST_ENV;
  switch (resource.Type) {
    case 'AWS::SQS::Queue':
      return `https://sqs.${region}.amazonaws.com/${account}/${logicalId}`;
    case 'AWS::S3::Bucket':
      return logicalId.toLowerCase();
    case 'AWS::KMS::Key':
      return '0d3c1f2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${region}:${account}:${logicalId}`;
    default:
      return logicalId; // a table's name, a parameter's value: any string does
  }
}

function getAttOf(logicalId: string, attribute: string, resource: CfnResource): string {
  const { region, account } = TEST_ENV;
  const ref = refOf(logicalId, resource);
  const arns: Record<string, string> = {
    'AWS::SQS::Queue': `arn:aws:sqs:${region}:${account}:${logicalId}`,
    'AWS::S3::Bucket': `arn:aws:s3:::${ref}`,
    'AWS::KMS::Key': `arn:aws:kms:${region}:${account}:key/${ref}`,
    'AWS::DynamoDB::Table': `arn:aws:dynamodb:${region}:${account}:table/${ref}`,
  };
  if (attribute === 'Arn' && arns[resource.Type]) return arns[resource.Type]!;
  if (resource.Type === 'AWS::SQS::Queue' && attribute === 'QueueUrl') return ref;
  if (resource.Type === 'AWS::SQS::Queue' && attribute === 'QueueName') return logicalId;
  throw new Error(`stack-environment: no stand-in for Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}); add one`);
}

/** Resolves the intrinsics CDK puts in environment values; anything else fails loudly, so nothing is guessed. */
function resolve(value: unknown, resources: Record<string, CfnResource>): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const node = value as Record<string, any>;
  if ('Ref' in node) {
    const id = node.Ref as string;
    if (PSEUDO[id] !== undefined) return PSEUDO[id]!;
    const resource = resources[id];
    if (!resource) throw new Error(`stack-environment: Ref to unknown ${id}`);
    return refOf(id, resource);
  }
  if ('Fn::GetAtt' in node) {
    const [id, attribute] = node['Fn::GetAtt'] as [string, string];
    const resource = resources[id];
    if (!resource) throw new Error(`stack-environment: Fn::GetAtt of unknown ${id}`);
    return getAttOf(id, attribute, resource);
  }
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolve(part, resources)).join(separator);
  }
  if ('Fn::Select' in node) {
    const [index, list] = node['Fn::Select'] as [number, unknown];
    const items = Array.isArray(list) ? list.map((item) => resolve(item, resources)) : resolve(list, resources).split(',');
    return items[Number(index)]!;
  }
  if ('Fn::Split' in node) {
    const [separator, source] = node['Fn::Split'] as [string, unknown];
    return resolve(source, resources).split(separator).join(',');
  }
  throw new Error(`stack-environment: cannot resolve ${JSON.stringify(value)}`);
}

let cached: Map<HandlerName, DeployedFunction> | undefined;

/** Every handler function of the synthesized stack, by handler name (POWERTOOLS_SERVICE_NAME, set by PipelineFunction). */
export function deployedFunctions(): ReadonlyMap<HandlerName, DeployedFunction> {
  if (cached) return cached;
  const { template } = synthStack();
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const found = new Map<HandlerName, DeployedFunction>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const variables = (resource.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
    const service = variables.POWERTOOLS_SERVICE_NAME;
    if (typeof service !== 'string' || !(service in HANDLER_ENTRIES)) continue; // CDK's own helper functions
    const environment = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, resolve(value, resources)]));
    found.set(service as HandlerName, {
      logicalId,
      environment,
      tracingMode: resource.Properties?.TracingConfig?.Mode,
      memoryMb: Number(resource.Properties?.MemorySize ?? 128),
    });
  }
  const missing = (Object.keys(HANDLER_ENTRIES) as HandlerName[]).filter((name) => !found.has(name));
  if (missing.length > 0) throw new Error(`stack-environment: the stack deploys no function for ${missing.join(', ')}`);
  cached = found;
  return found;
}

/**
 * What the Lambda runtime adds to the function's own variables before init ("Defined runtime
 * environment variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
 * With active tracing it also points the X-Ray SDK at the daemon and sets LOG_ERROR as the
 * context-missing strategy. _X_AMZN_TRACE_ID is per invocation, so init never sees it.
 */
export function lambdaRuntimeEnvironment(name: HandlerName, fn: DeployedFunction, taskRoot: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: 'index.handler',
    AWS_REGION: TEST_ENV.region,
    AWS_DEFAULT_REGION: TEST_ENV.region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: `Metahook-test-${fn.logicalId}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/Metahook-test-${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/02/[$LATEST]00000000000000000000000000000000',
    AWS_ACCESS_KEY_ID: 'ASIABENCHBENCHBENCH0',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    LAMBDA_TASK_ROOT: taskRoot,
    ...(fn.tracingMode === 'Active'
      ? { AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000', _AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129', _AWS_XRAY_DAEMON_PORT: '2000', AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR' }
      : {}),
  };
}
