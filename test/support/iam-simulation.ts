// Test support: evaluates AWS calls against the synthesized Metahook template with a maintained
// IAM policy evaluator (@cloud-copilot/iam-simulate), offline. The template's intrinsics are
// resolved to the names and ARNs CloudFormation would give the resources in a test account,
// each recorded call (test/support/aws-call-recorder.ts) is mapped to the IAM action(s) and
// resource ARN(s) AWS authorises it as, and the calls only AWS makes on a role's behalf
// (event-source mapping, logs, tracing, CloudWatch alarm actions) are derived from the template.
// Each mapping cites the AWS documentation it encodes.
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { INFERENCE_PROFILE_ROUTING_REGIONS, foundationModelId, inferenceProfileGeography } from '../../lib/deploy-config';
import type { RecordedCall } from './aws-call-recorder';

type Json = any;
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: string | string[];
  readonly Principal?: Json;
  readonly Condition?: Json;
}
export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: Statement[];
}

export interface AccountEnv {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
}

/** A request as IAM evaluates it. */
export interface AuthorizationRequest {
  /** A role's logical id in the template, a service principal (cloudwatch.amazonaws.com) or `operator`. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, string>;
  /** What made this request necessary (the recorded call, or the documented AWS behaviour). */
  readonly because: string;
  /** The resource a policy for this caller grants when `resource` holds an id minted at run time (an API key). */
  readonly grantAs?: string;
}

export interface Decision extends AuthorizationRequest {
  readonly result: string;
}

// ---------- the template, resolved ----------

export interface ResolvedStack {
  readonly env: AccountEnv;
  readonly resources: Record<string, { Type: string; Properties: Json }>;
  resolve(value: Json): Json;
  /** Identity policies of each role, by role logical id. */
  readonly rolePolicies: Record<string, PolicyDocument[]>;
  /** Resource policies by resource ARN (KMS keys, queues, buckets, topics). */
  readonly resourcePolicies: Record<string, PolicyDocument>;
  /** The role a Lambda handler runs as, by handler name (POWERTOOLS_SERVICE_NAME). */
  readonly roleOfHandler: Record<string, string>;
  roleArn(roleLogicalId: string): string;
  /** The KMS key ARN that encrypts a queue, topic or table, by the resource's ARN. */
  readonly encryptionKeyOf: Record<string, string>;
}

export function resolveStack(template: Json, env: AccountEnv): ResolvedStack {
  const resources = template.Resources as Record<string, { Type: string; Properties: Json }>;
  const { account, region, stackName } = env;
  const physicalName = (id: string) => `${stackName}-${id}`;
  const ref = (id: string): string => {
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::Region') return region;
    if (id === 'AWS::AccountId') return account;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    if (id === 'AWS::StackName') return stackName;
    const resource = resources[id];
    if (!resource) throw new Error(`Ref to unknown ${id}`);
    switch (resource.Type) {
      case 'AWS::SQS::Queue': return `https://sqs.${region}.amazonaws.com/${account}/${physicalName(id)}`;
      case 'AWS::SNS::Topic': return `arn:aws:sns:${region}:${account}:${physicalName(id)}`;
      case 'AWS::S3::Bucket': return physicalName(id).toLowerCase();
      case 'AWS::KMS::Key': return `key-${id}`;
      default: return physicalName(id);
    }
  };
  const getAtt = (id: string, attribute: string): string => {
    const resource = resources[id];
    if (!resource) throw new Error(`GetAtt of unknown ${id}`);
    const name = physicalName(id);
    if (attribute === 'Arn') {
      switch (resource.Type) {
        case 'AWS::DynamoDB::Table': return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
        case 'AWS::SQS::Queue': return `arn:aws:sqs:${region}:${account}:${name}`;
        case 'AWS::S3::Bucket': return `arn:aws:s3:::${ref(id)}`;
        case 'AWS::KMS::Key': return `arn:aws:kms:${region}:${account}:key/${ref(id)}`;
        case 'AWS::Logs::LogGroup': return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
        case 'AWS::IAM::Role': return `arn:aws:iam::${account}:role/${name}`;
        case 'AWS::Lambda::Function': return `arn:aws:lambda:${region}:${account}:function:${name}`;
        case 'AWS::CloudWatch::Alarm': return `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
        default: return `arn:aws:unknown:${region}:${account}:${resource.Type}/${name}`;
      }
    }
    if (attribute === 'QueueName' || attribute === 'TopicName') return name;
    if (attribute === 'QueueUrl') return ref(id);
    if (attribute === 'TopicArn') return ref(id);
    return `${name}.${attribute}`;
  };
  const resolve = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = value[key];
      if (key === 'Ref') return ref(arg);
      if (key === 'Fn::GetAtt') return getAtt(...((Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string]));
      if (key === 'Fn::Join') return (resolve(arg[1]) as string[]).join(arg[0]);
      if (key === 'Fn::Select') return resolve(arg[1])[Number(arg[0])];
      if (key === 'Fn::Split') return String(resolve(arg[1])).split(arg[0]);
      if (key === 'Fn::Sub') {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : [arg[0], resolve(arg[1])];
        return text.replace(/\$\{([^}]+)\}/g, (_: string, name: string) =>
          vars[name] ?? (name.includes('.') ? getAtt(...(name.split('.') as [string, string])) : ref(name)));
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  };

  const rolePolicies: Record<string, PolicyDocument[]> = {};
  const resourcePolicies: Record<string, PolicyDocument> = {};
  const addResourcePolicy = (arn: string, document: PolicyDocument) => {
    const existing = resourcePolicies[arn];
    resourcePolicies[arn] = existing ? { ...existing, Statement: [...existing.Statement, ...document.Statement] } : document;
  };
  const roleIds = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id]) => id);
  for (const id of roleIds) {
    const props = resources[id]!.Properties;
    // Managed policies (API Gateway's account-level logging role) are not in the template; a role
    // that has them is not one a recorded call runs as, and evaluate() refuses it.
    if (props.ManagedPolicyArns?.length) continue;
    rolePolicies[id] = (props.Policies ?? []).map((p: Json) => resolve(p.PolicyDocument));
  }
  const encryptionKeyOf: Record<string, string> = {};
  const keyArn = (keyRef: Json) => {
    const resolved = resolve(keyRef) as string;
    return resolved.startsWith('arn:') ? resolved : `arn:aws:kms:${region}:${account}:key/${resolved}`;
  };
  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
        for (const role of props.Roles ?? []) rolePolicies[role.Ref]!.push(resolve(props.PolicyDocument));
        break;
      case 'AWS::KMS::Key':
        addResourcePolicy(getAtt(id, 'Arn'), resolve(props.KeyPolicy));
        break;
      case 'AWS::SQS::QueuePolicy':
        for (const queue of props.Queues) addResourcePolicy(getAtt(queue.Ref, 'Arn'), resolve(props.PolicyDocument));
        break;
      case 'AWS::S3::BucketPolicy':
        addResourcePolicy(getAtt(props.Bucket.Ref, 'Arn'), resolve(props.PolicyDocument));
        break;
      case 'AWS::SNS::TopicPolicy':
        for (const topic of props.Topics) addResourcePolicy(resolve(topic), resolve(props.PolicyDocument));
        break;
      case 'AWS::SQS::Queue':
        if (props.KmsMasterKeyId) encryptionKeyOf[getAtt(id, 'Arn')] = keyArn(props.KmsMasterKeyId);
        break;
      case 'AWS::SNS::Topic':
        if (props.KmsMasterKeyId) encryptionKeyOf[ref(id)] = keyArn(props.KmsMasterKeyId);
        break;
      case 'AWS::DynamoDB::Table':
        if (props.SSESpecification?.KMSMasterKeyId) encryptionKeyOf[getAtt(id, 'Arn')] = keyArn(props.SSESpecification.KMSMasterKeyId);
        break;
    }
  }
  const roleOfHandler: Record<string, string> = {};
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const name = resource.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME;
    const role = resource.Properties.Role?.['Fn::GetAtt']?.[0];
    if (name && role) roleOfHandler[name] = role;
  }
  return {
    env,
    resources,
    resolve,
    rolePolicies,
    resourcePolicies,
    roleOfHandler,
    roleArn: (id) => getAtt(id, 'Arn'),
    encryptionKeyOf,
  };
}

// ---------- recorded calls -> IAM requests ----------

/** Translates the local stack's names (table, queue URLs, bucket) into the deployed ones. */
export type NameMap = ReadonlyMap<string, string>;

/**
 * Pairs each handler environment variable the template sets from a resource (Ref/GetAtt) with the
 * value the local stack gave the same variable: local table name -> deployed table name, etc.
 */
export function deployedNames(stack: ResolvedStack, localEnv: Record<string, string>): NameMap {
  const names = new Map<string, string>();
  for (const resource of Object.values(stack.resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    for (const [key, value] of Object.entries<Json>(resource.Properties.Environment?.Variables ?? {})) {
      if (typeof value === 'string' || !localEnv[key]) continue;
      names.set(localEnv[key], stack.resolve(value));
    }
  }
  return names;
}

const queueArnOf = (url: string): string => {
  const match = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\/(\d{12})\/([^/]+)$/.exec(url);
  if (!match) throw new Error(`not a deployed SQS queue URL: ${url}`);
  return `arn:aws:sqs:${match[1]}:${match[2]}:${match[3]}`;
};

const SECURE = { 'aws:SecureTransport': 'true' };

/** The IAM requests one recorded SDK call is authorised as. */
export function authorizationsFor(call: RecordedCall, stack: ResolvedStack, names: NameMap): AuthorizationRequest[] {
  const { account, region } = stack.env;
  const deployed = (value: unknown, what: string): string => {
    const mapped = names.get(String(value));
    if (!mapped) throw new Error(`${call.service}.${call.operation}: no deployed ${what} for local "${String(value)}"`);
    return mapped;
  };
  const because = `${call.principal} ${call.service}.${call.operation}`;
  const request = (action: string, resource: string, context: Record<string, string> = {}): AuthorizationRequest => ({
    principal: call.principal, action, resource, context: { ...SECURE, ...context }, because,
  });
  // A service using a KMS key on the caller's behalf is authorised against the caller, with
  // kms:ViaService naming that service (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  const viaKey = (resourceArn: string, service: string, actions: readonly string[]): AuthorizationRequest[] => {
    const key = stack.encryptionKeyOf[resourceArn];
    if (!key) return [];
    return actions.map((action) => ({
      ...request(action, key, { 'kms:ViaService': `${service}.${region}.amazonaws.com`, 'kms:CallerAccount': account }),
      because: `${because} (${service} uses the resource's KMS key on the caller's behalf)`,
    }));
  };

  switch (call.service) {
    case 'DynamoDB': {
      const tableArn = (name: unknown) => `arn:aws:dynamodb:${region}:${account}:table/${deployed(name, 'table')}`;
      // DynamoDB decrypts a customer-managed-key table's table key with the caller's permission
      // (kms:Decrypt); encryption uses that table key, not a KMS Encrypt call
      // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html,
      // "Table keys" and "How DynamoDB uses your KMS key").
      const withKey = (arn: string, requests: AuthorizationRequest[]) => [...requests, ...viaKey(arn, 'dynamodb', ['kms:Decrypt'])];
      if (call.operation === 'BatchWriteItem' || call.operation === 'BatchGetItem') {
        return (call.input.RequestItems as string[]).flatMap((name) => withKey(tableArn(name), [request(`dynamodb:${call.operation}`, tableArn(name))]));
      }
      if (call.operation === 'TransactWriteItems' || call.operation === 'TransactGetItems') {
        // Each entry is authorised as its own action (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
        const actionOf: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
        return (call.input.TransactItems as Record<string, string>[]).flatMap((item) =>
          Object.entries(item).flatMap(([kind, name]) => withKey(tableArn(name), [request(`dynamodb:${actionOf[kind]}`, tableArn(name))])),
        );
      }
      const table = tableArn(call.input.TableName);
      const resource = call.input.IndexName ? `${table}/index/${call.input.IndexName}` : table;
      return withKey(table, [request(`dynamodb:${call.operation}`, resource)]);
    }
    case 'SQS': {
      const queue = queueArnOf(deployed(call.input.QueueUrl, 'queue URL'));
      // Batch actions are authorised as their single-message action
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
      const action = `sqs:${call.operation.replace(/Batch$/, '')}`;
      // SSE-KMS queues: a producer needs kms:GenerateDataKey and kms:Decrypt, a consumer kms:Decrypt
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
      const keyActions = action === 'sqs:SendMessage' ? ['kms:GenerateDataKey', 'kms:Decrypt'] : action === 'sqs:ReceiveMessage' ? ['kms:Decrypt'] : [];
      return [request(action, queue), ...viaKey(queue, 'sqs', keyActions)];
    }
    case 'S3': {
      const bucket = names.get(String(call.input.Bucket)) ?? String(call.input.Bucket);
      // HeadObject is authorised as s3:GetObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
      const objectActions: Record<string, string> = { GetObject: 's3:GetObject', HeadObject: 's3:GetObject', PutObject: 's3:PutObject', DeleteObject: 's3:DeleteObject' };
      const action = objectActions[call.operation];
      if (action) return [request(action, `arn:aws:s3:::${bucket}/${String(call.input.Key)}`)];
      if (call.operation === 'ListObjectsV2') return [request('s3:ListBucket', `arn:aws:s3:::${bucket}`)];
      break;
    }
    case 'BedrockRuntime': {
      // Converse is authorised as bedrock:InvokeModel, ConverseStream as InvokeModelWithResponseStream
      // (https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html).
      const action = call.operation.endsWith('Stream') ? 'bedrock:InvokeModelWithResponseStream' : 'bedrock:InvokeModel';
      return bedrockRequests(String(call.input.modelId), action, stack.env).map((r) => ({ ...request(r.action, r.resource, r.context), because: `${because}${r.why}` }));
    }
    case 'KMS': {
      // GenerateDataKey and Decrypt are authorised on the key, with each encryption-context pair
      // as kms:EncryptionContext:<key> (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context).
      // The sealer always names the key (KeyId), so the key is the one the handler was configured with.
      if (call.operation === 'GenerateDataKey' || call.operation === 'Decrypt') {
        const key = deployed(call.input.KeyId, 'KMS key');
        const context = Object.fromEntries(
          Object.entries((call.input.EncryptionContext ?? {}) as Record<string, string>).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]),
        );
        return [request(`kms:${call.operation}`, key, { 'kms:CallerAccount': account, ...context })];
      }
      break;
    }
    case 'CloudFormation':
      if (call.operation === 'DescribeStacks') {
        return [request('cloudformation:DescribeStacks', `arn:aws:cloudformation:${region}:${account}:stack/${String(call.input.StackName)}/*`)];
      }
      break;
    case 'APIGateway': {
      // API Gateway's management API is authorised as apigateway:<HTTP method> on the resource's
      // path, arn:aws:apigateway:<region>::<path> with no account
      // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-create-and-manage-api.html).
      // Only the resource types of the service authorization reference are mapped ("Actions,
      // resources, and condition keys for Amazon API Gateway Management",
      // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html):
      // ApiKeys /apikeys, ApiKey /apikeys/${ApiKeyId}, UsagePlanKeys /usageplans/${UsagePlanId}/keys,
      // UsagePlanKey /usageplans/${UsagePlanId}/keys/${Id}. A key id is minted at run time, so the
      // operator's policy grants the ApiKey type by wildcard; the usage plan is the stack's.
      if (!call.http) break;
      const path = call.http.path;
      const action = `apigateway:${call.http.method}`;
      const arn = (resourcePath: string) => `arn:aws:apigateway:${region}::${resourcePath}`;
      if (path === '/apikeys') return [request(action, arn(path))];
      if (/^\/apikeys\/[^/]+$/.test(path)) return [{ ...request(action, arn(path)), grantAs: arn('/apikeys/*') }];
      const planKeys = /^\/usageplans\/([^/]+)\/keys(\/[^/]+)?$/.exec(path);
      if (planKeys) {
        const plan = `/usageplans/${deployed(decodeURIComponent(planKeys[1]!), 'usage plan')}/keys`;
        return planKeys[2] ? [{ ...request(action, arn(`${plan}${planKeys[2]}`)), grantAs: arn(`${plan}/*`) }] : [request(action, arn(plan))];
      }
      throw new Error(`no IAM mapping for API Gateway ${call.http.method} ${path}: map its resource type in test/support/iam-simulation.ts`);
    }
    case 'SNS':
      if (call.operation === 'Publish') {
        const topic = String(call.input.TopicArn);
        // Publishing to an SSE-KMS topic needs kms:GenerateDataKey* and kms:Decrypt
        // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
        return [request('sns:Publish', topic), ...viaKey(topic, 'sns', ['kms:GenerateDataKey', 'kms:Decrypt'])];
      }
      break;
  }
  throw new Error(`no IAM mapping for ${call.service}.${call.operation}: add it to test/support/iam-simulation.ts with its documentation`);
}

/**
 * A foundation model is invoked on its ARN; a geographic inference profile on the profile ARN and
 * on the foundation model in each Region it may route to, with bedrock:InferenceProfileArn
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
 */
export function bedrockRequests(modelId: string, action: string, env: AccountEnv) {
  const model = foundationModelId(modelId);
  const modelArn = (region: string) => `arn:aws:bedrock:${region}::foundation-model/${model}`;
  const geo = inferenceProfileGeography(modelId);
  if (geo === undefined) return [{ action, resource: modelArn(env.region), context: {}, why: '' }];
  const profile = modelId.startsWith('arn:') ? modelId : `arn:aws:bedrock:${env.region}:${env.account}:inference-profile/${modelId}`;
  const regions = geo === 'global' ? [env.region] : [...new Set([env.region, ...(INFERENCE_PROFILE_ROUTING_REGIONS[geo] ?? [])])];
  return [
    { action, resource: profile, context: {}, why: '' },
    ...regions.map((region) => ({
      action,
      resource: modelArn(region),
      context: { 'bedrock:InferenceProfileArn': profile },
      why: ` (the profile may route to ${region})`,
    })),
  ];
}

// ---------- what only AWS does on a role's behalf ----------

/**
 * Calls no handler makes but each role needs, derived from the template:
 * - a Lambda SQS event source polls with the function's role: sqs:ReceiveMessage,
 *   sqs:DeleteMessage, sqs:GetQueueAttributes, and kms:Decrypt for an SSE-KMS queue
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions);
 * - Lambda writes the function's logs to its log group: logs:CreateLogStream, logs:PutLogEvents
 *   (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html#monitoring-cloudwatchlogs-prereqs);
 * - active tracing sends segments: xray:PutTraceSegments, xray:PutTelemetryRecords on *
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html#services-xray-permissions);
 * - CloudWatch publishes an alarm's state changes to its SNS actions as cloudwatch.amazonaws.com,
 *   with the alarm as aws:SourceArn, using the topic's KMS key
 *   (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 */
export function awsMadeRequests(stack: ResolvedStack): AuthorizationRequest[] {
  const { account, region, stackName } = stack.env;
  const requests: AuthorizationRequest[] = [];
  const functionRole = (functionId: string) => stack.resources[functionId]!.Properties.Role['Fn::GetAtt'][0] as string;
  for (const [id, resource] of Object.entries(stack.resources)) {
    const props = resource.Properties;
    if (resource.Type === 'AWS::Lambda::EventSourceMapping') {
      const queue = stack.resolve(props.EventSourceArn) as string;
      const role = functionRole(props.FunctionName.Ref);
      const because = `Lambda event source mapping ${id} polling ${queue}`;
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
        requests.push({ principal: role, action, resource: queue, context: SECURE, because });
      }
      const key = stack.encryptionKeyOf[queue];
      if (key) requests.push({ principal: role, action: 'kms:Decrypt', resource: key, context: { 'kms:ViaService': `sqs.${region}.amazonaws.com` }, because });
    }
    if (resource.Type === 'AWS::Lambda::Function') {
      const role = functionRole(id);
      const logGroup = props.LoggingConfig?.LogGroup;
      if (logGroup) {
        const arn = `arn:aws:logs:${region}:${account}:log-group:${stack.resolve(logGroup)}:*`;
        for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
          requests.push({ principal: role, action, resource: arn, context: {}, because: `Lambda writing ${id}'s logs` });
        }
      }
      if (props.TracingConfig?.Mode === 'Active') {
        for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords']) {
          requests.push({ principal: role, action, resource: '*', context: {}, because: `active tracing of ${id}` });
        }
      }
    }
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      // CloudFormation names an unnamed alarm <stack>-<logical id>-<suffix>.
      const alarmArn = `arn:aws:cloudwatch:${region}:${account}:alarm:${props.AlarmName ?? `${stackName}-${id}-ABC123`}`;
      const context = { 'aws:SourceAccount': account, 'aws:SourceArn': alarmArn, ...SECURE };
      const topics = new Set<string>([...(props.AlarmActions ?? []), ...(props.OKActions ?? []), ...(props.InsufficientDataActions ?? [])].map(stack.resolve));
      for (const topic of topics) {
        const because = `CloudWatch alarm ${id} notifying ${topic}`;
        requests.push({ principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topic, context, because });
        const key = stack.encryptionKeyOf[topic];
        if (key) {
          for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
            requests.push({ principal: 'cloudwatch.amazonaws.com', action, resource: key, context, because });
          }
        }
      }
    }
  }
  return requests;
}

// ---------- evaluation ----------

const isServicePrincipal = (principal: string) => principal.endsWith('.amazonaws.com');

/** The resource policy that governs a resource ARN: its own, or its bucket's for an object. */
function resourcePolicyFor(stack: ResolvedStack, resource: string): PolicyDocument | undefined {
  if (stack.resourcePolicies[resource]) return stack.resourcePolicies[resource];
  const bucket = /^(arn:aws:s3:::[^/]+)\//.exec(resource)?.[1];
  return bucket ? stack.resourcePolicies[bucket] : undefined;
}

const ENCRYPTION_CONTEXT_KEY = /^kms:EncryptionContext:[^:]+$/i;

/**
 * KMS's encryption-context condition keys are kms:EncryptionContext:<context key>
 * (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context).
 * iam-simulate 0.1.x recognises a variable condition key only after a '/' (aws:PrincipalTag/<tag>)
 * and drops these from the request as unknown, so a condition on them could never match. They
 * are evaluated here instead, before the simulation: a statement whose encryption-context
 * conditions hold keeps its other conditions for the simulator; one whose do not is dropped (it
 * does not apply, Allow or Deny). Only StringEquals (what lib/constructs/secret-custody.ts uses)
 * is supported; any other operator throws rather than being guessed.
 */
export function applyEncryptionContext(policy: PolicyDocument, context: Record<string, string>): PolicyDocument {
  const valueOf = (conditionKey: string) =>
    Object.entries(context).find(([key]) => key.toLowerCase() === conditionKey.toLowerCase())?.[1];
  const statements = policy.Statement.flatMap((statement): Statement[] => {
    if (!statement.Condition) return [statement];
    let holds = true;
    const others: Record<string, Record<string, unknown>> = {};
    for (const [operator, entries] of Object.entries<Record<string, unknown>>(statement.Condition)) {
      for (const [key, expected] of Object.entries(entries)) {
        if (!ENCRYPTION_CONTEXT_KEY.test(key)) {
          (others[operator] ??= {})[key] = expected;
          continue;
        }
        if (operator !== 'StringEquals') throw new Error(`unsupported condition ${operator} on ${key}: add it to applyEncryptionContext`);
        const actual = valueOf(key);
        const allowed = (Array.isArray(expected) ? expected : [expected]).map(String);
        if (actual === undefined || !allowed.includes(actual)) holds = false;
      }
    }
    if (!holds) return [];
    const { Condition: _all, ...rest } = statement;
    return [Object.keys(others).length > 0 ? { ...rest, Condition: others } : rest];
  });
  return { ...policy, Statement: statements };
}

export interface PrincipalPolicies {
  /** principal -> identity policies, for principals that are not roles of the template (the operator). */
  readonly extra?: Record<string, { arn: string; policies: PolicyDocument[] }>;
}

export async function evaluate(
  stack: ResolvedStack,
  requests: readonly AuthorizationRequest[],
  options: PrincipalPolicies = {},
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (const req of requests) {
    const extra = options.extra?.[req.principal];
    const principal = isServicePrincipal(req.principal) ? req.principal : extra ? extra.arn : stack.roleArn(req.principal);
    const identityPolicies = isServicePrincipal(req.principal) ? [] : extra ? extra.policies : stack.rolePolicies[req.principal];
    if (!identityPolicies) throw new Error(`no role ${req.principal} in the template`);
    const identity = identityPolicies.map((policy) => applyEncryptionContext(policy, req.context));
    const keyOrResourcePolicy = resourcePolicyFor(stack, req.resource);
    const resourcePolicy = keyOrResourcePolicy && applyEncryptionContext(keyOrResourcePolicy, req.context);
    const simulation: Simulation = {
      request: {
        principal,
        action: req.action,
        resource: { resource: req.resource, accountId: req.resource.split(':')[4] || stack.env.account },
        contextVariables: req.context,
      },
      identityPolicies: identity.map((policy, index) => ({ name: `policy${index}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    } as Simulation;
    const response = await runSimulation(simulation, {});
    const result = response.resultType === 'error' ? `error: ${JSON.stringify(response.errors)}` : response.overallResult;
    decisions.push({ ...req, result });
  }
  return decisions;
}

// ---------- unused grants ----------

const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const globToRegExp = (pattern: string) =>
  new RegExp(`^${pattern.split('*').map((part) => part.split('?').map((p) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('.')).join('.*')}$`, 'i');

/** Every (action, resource) an Allow statement grants that no request needs: a grant to remove. */
export function unusedGrants(policies: readonly PolicyDocument[], principal: string, requests: readonly AuthorizationRequest[]): string[] {
  const mine = requests.filter((r) => r.principal === principal);
  const unused: string[] = [];
  for (const policy of policies) {
    for (const statement of policy.Statement) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asList(statement.Action)) {
        for (const resource of asList(statement.Resource)) {
          const actionMatch = globToRegExp(action);
          const resourceMatch = globToRegExp(resource);
          if (!mine.some((r) => actionMatch.test(r.action) && resourceMatch.test(r.resource))) unused.push(`${action} on ${resource}`);
        }
      }
    }
  }
  return unused;
}
