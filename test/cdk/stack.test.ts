// CDK assertions on the synthesized Metahook stack: what a security reviewer and an operator
// rely on (API keys, quotas, encryption, least privilege, alarms) and that every timing and
// limit in the template is the one lib/settings.ts resolves. One synth for the whole file.
import { JOBS_API_ROUTES, WEBHOOK_TEST_ROUTE } from '../../lambdas/jobs-api/routes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { API_ERROR_STATUS } from '../../lambdas/core/errors';
import { ENV } from '../../lambdas/runtime-config';
import { GATEWAY_ERROR_RESPONSES } from '../../lib/api-error-responses';
import { resolveSettings, type Settings } from '../../lib/settings';
import { synthStack } from './synth-stack';
import { AWS_DOCTOR_REQUIRED_OUTPUTS } from '../../cli/doctor-target';

type Resource = { Type: string; Properties: Record<string, any> };

// Distinct, non-default values so a template value can only come from these settings.
const base = resolveSettings({
  METAHOOK_RETRY_SCHEDULE: '1,2,3',
  METAHOOK_EXTRACTION_RETRY_SCHEDULE: '7,8',
  METAHOOK_CALLBACK_TIMEOUT_MS: '4321',
});
const settings: Settings = {
  ...base,
  extraction: { ...base.extraction, functionTimeoutSeconds: 100, queueVisibilityTimeoutSeconds: 650, memoryMb: 1536, batchSize: 3, maxConcurrency: 4 },
  delivery: { ...base.delivery, functionTimeoutSeconds: 50, queueVisibilityTimeoutSeconds: 333, memoryMb: 384, batchSize: 7, maxConcurrency: 6 },
  intake: { functionTimeoutSeconds: 27, memoryMb: 640 },
  queues: { messageRetentionSeconds: 3 * 24 * 3600, deadLetterRetentionSeconds: 10 * 24 * 3600 },
};
const context = {
  stage: 'test',
  allowedSourceBuckets: 'partner-uploads,archive.example-media',
  throttleRateLimit: '7',
  throttleBurstLimit: '14',
  monthlyQuota: '5000',
  logRetentionDays: '90',
  mediaExpiryDays: '3',
  alarmEmail: 'oncall@example.com',
};

let template: Template;
let resources: Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalIdOf = (token: unknown): string | undefined => {
  const t = token as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return t?.Ref ?? t?.['Fn::GetAtt']?.[0];
};

beforeAll(() => {
  const synth = synthStack({
    context,
    settings,
    // A route added later by the lead must inherit the same protections.
    customize: (stack) => stack.intakeApi.addRoute('GET', '/late-route/{id}'),
  });
  template = synth.template;
  resources = template.toJSON().Resources;
});

afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

describe('intake API', () => {
  it('requires an API key on every method, including routes added later', () => {
    const methods = ofType('AWS::ApiGateway::Method');
    const expected = ['POST /jobs', 'POST /uploads', ...JOBS_API_ROUTES, WEBHOOK_TEST_ROUTE, 'GET /late-route/{id}'].map((route) => route.split(' ')[0]!);
    expect(methods.map(([, m]) => String(m.Properties.HttpMethod)).sort()).toEqual(expected.sort());
    for (const [, method] of methods) expect(method.Properties.ApiKeyRequired).toBe(true);
  });

  it('throttles and caps each key with the usage plan from the deploy config', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 7, BurstLimit: 14 },
      Quota: { Limit: 5000, Period: 'MONTH' },
      ApiStages: [Match.objectLike({ Stage: Match.anyValue() })],
    });
  });

  it('validates POST /v1/jobs (stage v1, resource /jobs) bodies against the model generated from the zod schema', () => {
    const [[modelId, model]] = ofType('AWS::ApiGateway::Model') as [[string, Resource]];
    const schema = model.Properties.Schema;
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['callback_url', 'files']);
    expect(schema.properties.files.maxItems).toBe(settings.api.maxFilesPerRequest);
    expect(schema.properties.files.items.additionalProperties).toBe(false);
    expect(schema.properties.callback_url.maxLength).toBe(settings.api.maxUrlLength);

    const post = ofType('AWS::ApiGateway::Method').find(([, m]) => m.Properties.HttpMethod === 'POST')![1];
    expect(logicalIdOf(post.Properties.RequestModels['application/json'])).toBe(modelId);
    const validator = resources[logicalIdOf(post.Properties.RequestValidatorId)!]!;
    expect(validator.Properties.ValidateRequestBody).toBe(true);
    expect(post.Properties.Integration.Type).toBe('AWS_PROXY');
  });

  it('answers gateway errors with the handlers\' envelope, codes and statuses', () => {
    const responses = ofType('AWS::ApiGateway::GatewayResponse').map(([, r]) => r.Properties);
    expect(responses.map((r) => String(r.ResponseType)).sort()).toEqual(GATEWAY_ERROR_RESPONSES.map((e) => e.type).sort());
    for (const props of responses) {
      const body = JSON.parse(props.ResponseTemplates['application/json'].replace('$context.requestId', 'req-123'));
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'request_id']);
      expect(body.error.request_id).toBe('req-123');
      expect(body.error.code in API_ERROR_STATUS).toBe(true);
      if (props.StatusCode !== undefined) expect(Number(props.StatusCode)).toBeGreaterThanOrEqual(400);
      expect(props.ResponseParameters['gatewayresponse.header.Content-Type']).toBe("'application/json'");
      expect(props.ResponseParameters['gatewayresponse.header.X-Content-Type-Options']).toBe("'nosniff'");
      expect(props.ResponseParameters['gatewayresponse.header.Strict-Transport-Security']).toMatch(/^'max-age=\d+/);
    }
    const byType = Object.fromEntries(responses.map((r) => [r.ResponseType, r]));
    const codeOf = (type: string) => JSON.parse(byType[type].ResponseTemplates['application/json']).error.code;
    expect([codeOf('INVALID_API_KEY'), byType.INVALID_API_KEY.StatusCode]).toEqual(['invalid_api_key', String(API_ERROR_STATUS.invalid_api_key)]);
    expect([codeOf('THROTTLED'), byType.THROTTLED.StatusCode]).toEqual(['rate_limited', '429']);
    expect([codeOf('QUOTA_EXCEEDED'), byType.QUOTA_EXCEEDED.StatusCode]).toEqual(['quota_exceeded', '429']);
    expect([codeOf('BAD_REQUEST_BODY'), byType.BAD_REQUEST_BODY.StatusCode]).toEqual(['invalid_request', '400']);
    expect([codeOf('REQUEST_TOO_LARGE'), byType.REQUEST_TOO_LARGE.StatusCode]).toEqual(['payload_too_large', '413']);
    expect(codeOf('DEFAULT_5XX')).toBe('internal_error');
  });

  it('serves stage v1 with X-Ray, access logs to a retained log group, no body logging, no CORS', () => {
    const [[, stage]] = ofType('AWS::ApiGateway::Stage') as [[string, Resource]];
    expect(stage.Properties.StageName).toBe('v1');
    expect(stage.Properties.TracingEnabled).toBe(true);
    const destination = JSON.stringify(stage.Properties.AccessLogSetting.DestinationArn);
    const [[, logGroup]] = ofType('AWS::Logs::LogGroup').filter(([id]) => destination.includes(`"${id}"`)) as [[string, Resource]];
    expect(logGroup.Properties.RetentionInDays).toBe(90);
    expect(JSON.parse(stage.Properties.AccessLogSetting.Format)).toMatchObject({ requestId: '$context.requestId', apiKeyId: '$context.identity.apiKeyId' });
    for (const setting of stage.Properties.MethodSettings) expect(setting.DataTraceEnabled).toBe(false);
    expect(ofType('AWS::ApiGateway::Method').some(([, m]) => m.Properties.HttpMethod === 'OPTIONS')).toBe(false);
  });
});

describe('queues', () => {
  const queues = () => ofType('AWS::SQS::Queue');

  it('gives each work queue a dead-letter queue with the settings\' maxReceiveCount', () => {
    const withRedrive = queues().filter(([, q]) => q.Properties.RedrivePolicy);
    expect(withRedrive).toHaveLength(2);
    const counts = withRedrive.map(([, q]) => q.Properties.RedrivePolicy.maxReceiveCount).sort((a, b) => a - b);
    expect(counts).toEqual([settings.extraction.maxReceiveCount, settings.delivery.maxReceiveCount].sort((a, b) => a - b));
    const deadLetterIds = new Set(withRedrive.map(([, q]) => logicalIdOf(q.Properties.RedrivePolicy.deadLetterTargetArn)));
    expect(deadLetterIds.size).toBe(2);
    for (const id of deadLetterIds) {
      expect(resources[id!]!.Type).toBe('AWS::SQS::Queue');
      expect(resources[id!]!.Properties.MessageRetentionPeriod).toBe(settings.queues.deadLetterRetentionSeconds);
    }
  });

  it('encrypts every queue with the customer-managed key and refuses non-TLS access', () => {
    const policies = ofType('AWS::SQS::QueuePolicy').map(([, p]) => p.Properties);
    for (const [id, queue] of queues()) {
      expect(resources[logicalIdOf(queue.Properties.KmsMasterKeyId)!]!.Type).toBe('AWS::KMS::Key');
      const policy = policies.find((p) => p.Queues.some((q: unknown) => logicalIdOf(q) === id));
      expect(policy, `TLS policy for ${id}`).toBeDefined();
      expect(policy!.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});

describe('pipeline functions', () => {
  const functionsByService = () =>
    Object.fromEntries(
      ofType('AWS::Lambda::Function').map(([id, fn]) => [fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME, { id, ...fn.Properties }]),
    ) as Record<'intake' | 'extractor' | 'callback', Record<string, any>>;

  it('runs Node 22 on ARM64 with active tracing, a retained log group and the settings\' sizing', () => {
    const fns = functionsByService();
    const expected = {
      intake: settings.intake,
      extractor: settings.extraction,
      callback: settings.delivery,
    };
    for (const [name, sizing] of Object.entries(expected)) {
      const fn = fns[name as keyof typeof fns];
      expect(fn, name).toBeDefined();
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Timeout).toBe(sizing.functionTimeoutSeconds);
      expect(fn.MemorySize).toBe(sizing.memoryMb);
      const logGroup = resources[logicalIdOf(fn.LoggingConfig.LogGroup)!]!;
      expect(logGroup.Properties.RetentionInDays).toBe(90);
    }
  });

  it('fills the runtime-config contract, with Bedrock as the cloud model provider', () => {
    for (const fn of Object.values(functionsByService())) {
      const vars = fn.Environment.Variables;
      for (const name of [ENV.tableName, ENV.jobsQueueUrl, ENV.jobsDlqUrl, ENV.deliveriesQueueUrl, ENV.deliveriesDlqUrl, ENV.mediaBucket]) {
        expect(vars[name], name).toBeDefined();
      }
      expect(vars[ENV.modelProvider]).toBe('bedrock');
      expect(vars[ENV.allowedSourceBuckets]).toBe('partner-uploads,archive.example-media');
      expect(vars[ENV.imageModelId]).toBe('us.amazon.nova-lite-v1:0');
      expect(vars[ENV.audioModelId]).toBe('mistral.voxtral-small-24b-2507');
      expect(vars[ENV.allowLoopbackHttp]).toBeUndefined();
    }
    expect(functionsByService().callback.Environment.Variables.METAHOOK_CALLBACK_TIMEOUT_MS).toBe('4321');
  });

  it('runs without source-mapped stack traces unless the stage asks for them (sourceMapStackTraces)', () => {
    // Off: Node would read each bundle's source map at every cold start (BENCHMARKS.md, cold start).
    for (const fn of Object.values(functionsByService())) expect(fn.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    const withMaps = synthStack({ context: { ...context, sourceMapStackTraces: 'true' } }).template;
    const functions = Object.values(withMaps.findResources('AWS::Lambda::Function')) as Resource[];
    // Every function of ours (CDK's own helper functions have no POWERTOOLS_SERVICE_NAME).
    const ours = functions.filter((fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME);
    expect(ours.length).toBe(Object.keys(functionsByService()).length);
    for (const fn of ours) expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('consumes each queue with partial batch failures, the settings\' batch size and maxConcurrency', () => {
    const fns = functionsByService();
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    expect(mappings).toHaveLength(2);
    const expected = [
      { fn: fns.extractor, sizing: settings.extraction },
      { fn: fns.callback, sizing: settings.delivery },
    ];
    for (const { fn, sizing } of expected) {
      const mapping = mappings.find((m) => logicalIdOf(m.FunctionName) === fn.id)!;
      expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.BatchSize).toBe(sizing.batchSize);
      expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: sizing.maxConcurrency });
      const queue = resources[logicalIdOf(mapping.EventSourceArn)!]!;
      expect(queue.Properties.VisibilityTimeout).toBe(sizing.queueVisibilityTimeoutSeconds);
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
      expect(queue.Properties.MessageRetentionPeriod).toBe(settings.queues.messageRetentionSeconds);
    }
  });
});

describe('least privilege', () => {
  type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
  const statementsOf = (roleLogicalId: string): Statement[] =>
    ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: unknown) => logicalIdOf(r) === roleLogicalId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
  const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
  const roleOf = (service: string) => {
    const [, fn] = ofType('AWS::Lambda::Function').find(([, f]) => f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === service)!;
    return logicalIdOf(fn.Properties.Role)!;
  };
  const grants = (service: string, action: string) =>
    statementsOf(roleOf(service)).filter((s) => actions(s).includes(action)).flatMap(resourcesOf);
  const render = (value: unknown) => JSON.stringify(value);

  it('never grants data-plane actions on "*"', () => {
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        if (!resourcesOf(statement).includes('*')) continue;
        expect(actions(statement).every((a) => a.startsWith('xray:')), render(statement)).toBe(true);
      }
    }
  });

  it('gives each handler exactly the queue actions it needs on the queues it touches', () => {
    const queueId = (predicate: (q: Resource) => boolean) => ofType('AWS::SQS::Queue').find(([, q]) => predicate(q))![0];
    const jobs = queueId((q) => q.Properties.VisibilityTimeout === settings.extraction.queueVisibilityTimeoutSeconds);
    const deliveries = queueId((q) => q.Properties.VisibilityTimeout === settings.delivery.queueVisibilityTimeoutSeconds);
    const dlqOf = (id: string) => logicalIdOf(resources[id]!.Properties.RedrivePolicy.deadLetterTargetArn)!;
    const ids = (values: unknown[]) => values.map((value) => String(logicalIdOf(value))).sort();

    expect(ids(grants('intake', 'sqs:SendMessage'))).toEqual([jobs]);
    // The jobs queue too: the fairness guard requeues a busy tenant's excess records; and the
    // held-jobs queue, where a disabled tenant's jobs wait without an alarm.
    const held = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('JobsHeld'))![0];
    expect(ids(grants('extractor', 'sqs:SendMessage'))).toEqual([deliveries, dlqOf(jobs), held, jobs].sort());
    expect(ids(grants('extractor', 'sqs:ChangeMessageVisibility'))).toEqual([jobs]);
    // Only the dead-letter queue: a retry changes the record's visibility, it is never re-sent.
    expect(ids(grants('callback', 'sqs:SendMessage'))).toEqual([dlqOf(deliveries)]);
    expect(ids(grants('callback', 'sqs:ChangeMessageVisibility'))).toEqual([deliveries]);
    expect(grants('intake', 'sqs:ReceiveMessage')).toEqual([]);
    for (const service of ['intake', 'extractor', 'callback']) {
      expect(grants(service, 'sqs:PurgeQueue')).toEqual([]);
      expect(grants(service, 'dynamodb:Scan')).toEqual([]);
    }
  });

  it('scopes DynamoDB to the table, and index Queries to the jobs API', () => {
    const [[tableId]] = ofType('AWS::DynamoDB::Table') as [[string, Resource]];
    for (const service of ['intake', 'extractor', 'callback', 'jobsApi']) {
      const granted = grants(service, 'dynamodb:UpdateItem');
      expect(granted.length, service).toBeGreaterThan(0);
      for (const resource of granted) expect(render(resource)).toContain(tableId);
      const indexes = grants(service, 'dynamodb:Query').map(render).filter((r) => r.includes('/index/'));
      expect(indexes.length, service).toBe(service === 'jobsApi' ? 1 : 0);
    }
  });

  it('lets only the extractor read S3, and only the media bucket and allowlisted buckets', () => {
    const [[bucketId]] = ofType('AWS::S3::Bucket') as [[string, Resource]];
    const granted = grants('extractor', 's3:GetObject').map(render);
    expect(granted).toHaveLength(3);
    // In the media bucket only the tenant upload prefixes (issue 16), never the whole bucket.
    expect(granted.some((r) => r.includes(bucketId) && r.includes('/tenants/*'))).toBe(true);
    expect(granted.some((r) => r.includes(':s3:::partner-uploads/*'))).toBe(true);
    expect(granted.some((r) => r.includes(':s3:::archive.example-media/*'))).toBe(true);
    const s3Actions = statementsOf(roleOf('extractor')).flatMap(actions).filter((a) => a.startsWith('s3:'));
    expect(s3Actions).toEqual(['s3:GetObject']);
    expect(grants('intake', 's3:GetObject')).toEqual([]);
    expect(grants('callback', 's3:GetObject')).toEqual([]);
    expect(grants('uploads', 's3:GetObject')).toEqual([]);
  });

  it('lets the uploads function (whose presigned URLs carry its permissions) only PutObject below tenants/ of the media bucket', () => {
    const [[bucketId]] = ofType('AWS::S3::Bucket') as [[string, Resource]];
    const s3Actions = statementsOf(roleOf('uploads')).flatMap(actions).filter((a) => a.startsWith('s3:'));
    expect(s3Actions).toEqual(['s3:PutObject']);
    const granted = grants('uploads', 's3:PutObject').map(render);
    expect(granted).toHaveLength(1);
    expect(granted[0]).toContain(bucketId);
    expect(granted[0]).toContain('/tenants/*');
    for (const other of ['intake', 'extractor', 'callback', 'jobsApi', 'sweeper']) expect(grants(other, 's3:PutObject'), other).toEqual([]);
  });

  it('lets only the extractor invoke Bedrock, on the configured profile and the models it routes to', () => {
    const granted = grants('extractor', 'bedrock:InvokeModel').map(render);
    expect(granted.some((r) => r.includes(':bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0'))).toBe(true);
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2']) {
      expect(granted.some((r) => r.includes(`:bedrock:${region}::foundation-model/amazon.nova-lite-v1:0`)), region).toBe(true);
    }
    expect(granted.some((r) => r.includes(':bedrock:us-east-1::foundation-model/mistral.voxtral-small-24b-2507'))).toBe(true);
    expect(granted.every((r) => !r.includes('*'))).toBe(true);
    expect(grants('intake', 'bedrock:InvokeModel')).toEqual([]);
    expect(grants('callback', 'bedrock:InvokeModel')).toEqual([]);
  });
});

describe('stack outputs', () => {
  // doctor --aws fails "stack outputs" when one is missing, and the CLI commands read them: a
  // renamed or dropped CfnOutput must fail here, not on an operator's first command.
  it('defines every output the CLI and doctor read', () => {
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    expect(AWS_DOCTOR_REQUIRED_OUTPUTS.filter((key) => !outputs.includes(key))).toEqual([]);
  });
});

describe('storage', () => {
  it('keeps the table on demand, with PITR, deletion protection, KMS encryption and TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('blocks public access to the media bucket, encrypts it, requires TLS and expires staged objects', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 3, Status: 'Enabled' })]) },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('observability', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const queueIdByName = (visibility: number) =>
    ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.VisibilityTimeout === visibility)![0];

  it('sends every alarm to the encrypted, TLS-only alarm topic with the on-call subscription', () => {
    const [[topicId, topic]] = ofType('AWS::SNS::Topic') as [[string, Resource]];
    expect(resources[logicalIdOf(topic.Properties.KmsMasterKeyId)!]!.Type).toBe('AWS::KMS::Key');
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    for (const alarm of alarms()) expect(alarm.AlarmActions.map(logicalIdOf)).toEqual([topicId]);
  });

  it('alarms as soon as either dead-letter queue holds a message', () => {
    const dlqIds = ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy)
      .map(([, q]) => logicalIdOf(q.Properties.RedrivePolicy.deadLetterTargetArn));
    for (const dlqId of dlqIds) {
      const alarm = alarms().find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        logicalIdOf(a.Dimensions[0].Value) === dlqId);
      expect(alarm, `alarm for ${dlqId}`).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Namespace: 'AWS/SQS' });
    }
  });

  it('alarms when the oldest job waits more than 10 minutes', () => {
    const jobsId = queueIdByName(settings.extraction.queueVisibilityTimeoutSeconds);
    const alarm = alarms().find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(logicalIdOf(alarm?.Dimensions[0].Value)).toBe(jobsId);
    expect(alarm).toMatchObject({ Threshold: 600, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Maximum' });
  });

  it('alarms on extractor and callback errors', () => {
    const fnIds = ofType('AWS::Lambda::Function')
      .filter(([, f]) => ['extractor', 'callback'].includes(f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME))
      .map(([id]) => id);
    for (const id of fnIds) {
      expect(alarms().some((a) => a.MetricName === 'Errors' && a.Namespace === 'AWS/Lambda' && logicalIdOf(a.Dimensions[0].Value) === id), id).toBe(true);
    }
  });

  it('alarms on the delivery failure rate computed from the callback\'s EMF metrics', () => {
    const alarm = alarms().find((a) => a.Metrics?.some((m: any) => m.Expression?.includes('failed / attempts')));
    expect(alarm).toBeDefined();
    const expression = alarm!.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toContain('failed / attempts');
    const stat = (id: string) => alarm!.Metrics.find((m: any) => m.Id === id).MetricStat.Metric;
    expect(stat('attempts')).toEqual({ Namespace: 'Metahook', MetricName: 'DeliveryAttempt', Dimensions: [{ Name: 'service', Value: 'callback' }] });
    expect(stat('failed')).toEqual({ Namespace: 'Metahook', MetricName: 'DeliveryFailed', Dimensions: [{ Name: 'service', Value: 'callback' }] });
  });

  it('publishes a dashboard of the pipeline', () => {
    const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ['ApproximateAgeOfOldestMessage', 'DeliveryFailed', 'Errors', 'Count']) expect(body).toContain(metric);
  });
});

describe('guards', () => {
  it('refuses a queue visibility shorter than 6x its consumer\'s timeout', () => {
    const tooShort = { ...settings, delivery: { ...settings.delivery, queueVisibilityTimeoutSeconds: 6 * settings.delivery.functionTimeoutSeconds - 1 } };
    expect(() => synthStack({ settings: tooShort })).toThrow(/Deliveries queue visibility \(299s\) must be at least 6x the callback timeout/);
  });
});
