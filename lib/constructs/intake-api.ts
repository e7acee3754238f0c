// Intake API: the REST API integrators call (stage v1). Every method requires an API key; a
// usage plan throttles and caps each key; bodies are validated against models generated from
// the handlers' zod schemas; gateway-generated errors use the handlers' JSON envelope.
// Routes live below the v1 stage (`/v1/jobs` = stage v1 + resource /jobs); a new route is one
// call: `intakeApi.addRoute('GET', '/jobs/{job_id}', { handler })`.
import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Model,
  Period,
  RequestValidator,
  ResponseType,
  RestApi,
  UsagePlan,
  type Method,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CONTENT_LENGTH_OVER_LIMIT_REGEX,
  PAYLOAD_TOO_LARGE_BODY,
  PAYLOAD_TOO_LARGE_STATUS,
} from '../payload-limit';
import { GATEWAY_ERROR_RESPONSES, SECURITY_RESPONSE_HEADERS, gatewayResponseTemplate } from '../api-error-responses';
import { REQUEST_MODELS } from '../api-request-models';
import type { Settings } from '../settings';
import { grantSend, grantTable } from './grants';
import { PipelineFunction } from './pipeline-function';
import { JOBS_API_ROUTES, splitRoute } from '../../lambdas/jobs-api/routes';
import { TENANT_MEDIA_ROOT } from '../../lambdas/core/media-scope';

export const API_STAGE_NAME = 'v1';

export type RequestModelName = keyof typeof REQUEST_MODELS;

export interface UsagePlanLimits {
  /** Steady-state requests per second per API key (all methods but POST /jobs). */
  readonly rateLimit: number;
  /** Burst bucket size per API key. */
  readonly burstLimit: number;
  /**
   * POST /jobs per key: derived from the capacity plan (lib/capacity.ts), which checked that
   * every key at this rate and burst still finishes within the 15-minute promise.
   */
  readonly submit: { readonly rateLimit: number; readonly burstLimit: number };
  /** Requests per API key per calendar month. */
  readonly monthlyQuota: number;
}

export interface IntakeApiProps {
  readonly settings: Settings;
  readonly table: ITable;
  readonly jobsQueue: IQueue;
  /** The jobs API queues redeliveries here. */
  readonly deliveriesQueue: IQueue;
  /** POST /uploads signs PUTs into this bucket, under tenants/<tenant id>/ only. */
  readonly mediaBucket: IBucket;
  readonly environment: Record<string, string>;
  readonly usagePlan: UsagePlanLimits;
  readonly logRetention: RetentionDays;
  /**
   * Create API Gateway's account-level CloudWatch Logs role (access and execution logs need it
   * once per account and Region). Set false when the account already has one.
   * @default true
   */
  readonly createCloudWatchRole?: boolean;
}

export interface RouteOptions {
  /** @default the intake function */
  readonly handler?: IFunction;
  /** Validates the JSON body against this model. @default no body model */
  readonly requestModel?: RequestModelName;
}

export class IntakeApi extends Construct {
  public readonly api: RestApi;
  public readonly usagePlan: UsagePlan;
  public readonly intake: PipelineFunction;
  public readonly jobsApi: PipelineFunction;
  /** POST /uploads: presigns a PUT under the caller's tenant prefix of the media bucket. */
  public readonly uploads: PipelineFunction;
  public readonly accessLogs: LogGroup;
  /** Refuses bodies too large for a Lambda invoke with 413 payload_too_large (lib/payload-limit.ts). */
  public readonly webAcl: CfnWebACL;
  public readonly methods: Method[] = [];
  private readonly validator: RequestValidator;
  private readonly models = new Map<RequestModelName, Model>();

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);

    this.intake = new PipelineFunction(this, 'Intake', {
      handlerName: 'intake',
      description: 'Metahook intake: validates a submission and queues one job per file',
      timeoutSeconds: props.settings.intake.functionTimeoutSeconds,
      memoryMb: props.settings.intake.memoryMb,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    // Tenant and idempotency lookups, job and batch writes; DeleteItem releases reservations and
    // the idempotency record when a submission fails half-way.
    grantTable(props.table, this.intake.function, {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'],
    });
    grantSend(props.jobsQueue, this.intake.function);

    this.jobsApi = new PipelineFunction(this, 'JobsApi', {
      handlerName: 'jobsApi',
      description: 'Metahook jobs API: look up, list, cancel and redeliver jobs',
      timeoutSeconds: props.settings.intake.functionTimeoutSeconds,
      memoryMb: props.settings.intake.memoryMb,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    // Reads jobs, batches and attempts (Query, BatchGetItem, the tenant-time index), cancels and redelivers.
    grantTable(props.table, this.jobsApi.function, {
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
      queryIndexes: true,
    });
    grantSend(props.deliveriesQueue, this.jobsApi.function);

    this.uploads = new PipelineFunction(this, 'Uploads', {
      handlerName: 'uploads',
      description: 'Metahook uploads: presigns a PUT of one file under the tenant prefix of the media bucket',
      timeoutSeconds: props.settings.intake.functionTimeoutSeconds,
      memoryMb: props.settings.intake.memoryMb,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    // The tenant lookup by API key id.
    grantTable(props.table, this.uploads.function, { actions: ['dynamodb:GetItem'] });
    // A presigned URL acts with the signer's permissions: PutObject below tenants/ and nothing
    // else, so no URL it signs can write another bucket, the bucket root or any read.
    this.uploads.function.addToRolePolicy(
      new PolicyStatement({
        sid: 'PutTenantUploads',
        actions: ['s3:PutObject'],
        resources: [props.mediaBucket.arnForObjects(`${TENANT_MEDIA_ROOT}*`)],
      }),
    );

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new RestApi(this, 'Api', {
      description: 'Metahook intake API',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: props.createCloudWatchRole ?? true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      // No CORS: the API is called server to server.
      deployOptions: {
        stageName: API_STAGE_NAME,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Bodies carry callback URLs and tenant metadata: never log them.
        dataTraceEnabled: false,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            extendedRequestId: AccessLogField.contextExtendedRequestId(),
            requestTime: AccessLogField.contextRequestTime(),
            ip: AccessLogField.contextIdentitySourceIp(),
            httpMethod: AccessLogField.contextHttpMethod(),
            resourcePath: AccessLogField.contextResourcePath(),
            status: AccessLogField.contextStatus(),
            responseLength: AccessLogField.contextResponseLength(),
            responseLatency: AccessLogField.contextResponseLatency(),
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            // The key's id (not the key) identifies the tenant.
            apiKeyId: AccessLogField.contextIdentityApiKeyId(),
            errorType: AccessLogField.contextErrorResponseType(),
            errorMessage: AccessLogField.contextErrorMessage(),
            xrayTraceId: AccessLogField.contextXrayTraceId(),
          }),
        ),
      },
    });

    this.validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    for (const entry of GATEWAY_ERROR_RESPONSES) {
      this.api.addGatewayResponse(`Response${entry.type}`, {
        type: ResponseType.of(entry.type),
        ...(entry.statusCode !== undefined ? { statusCode: String(entry.statusCode) } : {}),
        responseHeaders: Object.fromEntries(
          Object.entries({ 'Content-Type': 'application/json', ...SECURITY_RESPONSE_HEADERS }).map(([name, value]) => [
            name,
            `'${value}'`,
          ]),
        ),
        templates: { 'application/json': gatewayResponseTemplate(entry) },
      });
    }

    const submit = this.addRoute('POST', '/jobs', { requestModel: 'SubmitJobsRequest' });
    this.addRoute('POST', '/uploads', { handler: this.uploads.function, requestModel: 'CreateUploadRequest' });
    for (const route of JOBS_API_ROUTES) {
      const { method, resource } = splitRoute(route);
      this.addRoute(method, resource, { handler: this.jobsApi.function });
    }

    this.usagePlan = this.api.addUsagePlan('UsagePlan', {
      description: 'Metahook tenants: one API key per tenant',
      throttle: { rateLimit: props.usagePlan.rateLimit, burstLimit: props.usagePlan.burstLimit },
      quota: { limit: props.usagePlan.monthlyQuota, period: Period.MONTH },
      apiStages: [
        {
          api: this.api,
          stage: this.api.deploymentStage,
          // Method-level throttle: only POST /jobs admits files, so only it carries the capacity plan.
          throttle: [{ method: submit, throttle: { rateLimit: props.usagePlan.submit.rateLimit, burstLimit: props.usagePlan.submit.burstLimit } }],
        },
      ],
    });

    // Bodies API Gateway accepts (<= 10 MB) but a Lambda invoke cannot carry (6 MB) would end in
    // a 5xx; WAF answers them with the API's 413 envelope before the integration runs.
    this.webAcl = new CfnWebACL(this, 'RequestSizeAcl', {
      description: 'Metahook: refuses request bodies too large for the Lambda integrations',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'MetahookRequestSize', sampledRequestsEnabled: false },
      customResponseBodies: {
        payloadTooLarge: { contentType: 'APPLICATION_JSON', content: PAYLOAD_TOO_LARGE_BODY },
      },
      rules: [
        {
          name: 'BodyTooLargeForLambda',
          priority: 0,
          statement: {
            regexMatchStatement: {
              regexString: CONTENT_LENGTH_OVER_LIMIT_REGEX,
              fieldToMatch: { singleHeader: { Name: 'content-length' } },
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          action: {
            block: {
              customResponse: {
                responseCode: PAYLOAD_TOO_LARGE_STATUS,
                customResponseBodyKey: 'payloadTooLarge',
                responseHeaders: Object.entries(SECURITY_RESPONSE_HEADERS).map(([name, value]) => ({ name, value })),
              },
            },
          },
          visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'MetahookBodyTooLarge', sampledRequestsEnabled: false },
        },
      ],
    });
    new CfnWebACLAssociation(this, 'RequestSizeAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    const stack = Stack.of(this);
    new CfnOutput(stack, 'ApiBaseUrl', { value: this.api.url, description: 'Stage URL: https://.../v1/' });
    new CfnOutput(stack, 'JobsEndpoint', { value: this.api.urlForPath('/jobs'), description: 'POST file references here' });
    new CfnOutput(stack, 'UploadsEndpoint', { value: this.api.urlForPath('/uploads'), description: 'POST here for a presigned upload URL' });
    new CfnOutput(stack, 'UsagePlanId', { value: this.usagePlan.usagePlanId, description: 'Tenant API keys are added to this plan' });
  }

  /** Adds `method path` behind the API key and usage plan, proxied to a Lambda. */
  addRoute(method: string, path: string, options: RouteOptions = {}): Method {
    const handler = options.handler ?? this.intake.function;
    const resource = this.api.root.resourceForPath(path);
    const model = options.requestModel ? this.requestModel(options.requestModel) : undefined;
    const added = resource.addMethod(method, new LambdaIntegration(handler, { proxy: true, allowTestInvoke: false }), {
      apiKeyRequired: true,
      requestValidator: this.validator,
      ...(model ? { requestModels: { 'application/json': model } } : {}),
    });
    this.methods.push(added);
    return added;
  }

  private requestModel(name: RequestModelName): Model {
    let model = this.models.get(name);
    if (!model) {
      model = this.api.addModel(name, { modelName: name, contentType: 'application/json', schema: REQUEST_MODELS[name]() });
      this.models.set(name, model);
    }
    return model;
  }
}
