// One pipeline Lambda (intake, extractor or callback): the bundling, runtime and logging
// every handler shares, so the three differ only in entry, sizing and environment.
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { COMPANION_BUNDLES, HANDLER_BUNDLING, companionBundleCommand } from '../handler-bundling';

/** Repository root, from this file's place in lib/constructs/. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The handler entry points the stack deploys (each exports `handler`). */
export const HANDLER_ENTRIES = {
  intake: 'lambdas/intake/handler.ts',
  extractor: 'lambdas/extractor/handler.ts',
  callback: 'lambdas/callback/handler.ts',
  jobsApi: 'lambdas/jobs-api/handler.ts',
  sweeper: 'lambdas/sweeper/handler.ts',
  uploads: 'lambdas/uploads/handler.ts',
} as const;

export type HandlerName = keyof typeof HANDLER_ENTRIES;

export interface PipelineFunctionProps {
  readonly handlerName: HandlerName;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly description: string;
  /**
   * Native modules installed next to the bundle for linux-arm64 instead of bundled (sharp).
   * Installing them needs the npm registry at synth time.
   * @default none: native modules are left out
   */
  readonly nativeModules?: readonly string[];
}



export class PipelineFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Logs outlive a teardown: they are the audit trail of what ran.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Metahook ${props.handlerName} Lambda`,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.function = new NodejsFunction(this, 'Function', {
      role: this.role,
      entry: `${REPO_ROOT}${HANDLER_ENTRIES[props.handlerName]}`,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: Duration.seconds(props.timeoutSeconds),
      memorySize: props.memoryMb,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.handlerName,
        POWERTOOLS_METRICS_NAMESPACE: 'Metahook',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      projectRoot: REPO_ROOT,
      bundling: {
        format: OutputFormat.ESM,
        target: HANDLER_BUNDLING.target,
        minify: HANDLER_BUNDLING.minify,
        sourceMap: HANDLER_BUNDLING.sourcemap,
        sourcesContent: HANDLER_BUNDLING.sourcesContent,
        mainFields: [...HANDLER_BUNDLING.mainFields],
        banner: HANDLER_BUNDLING.banner,
        externalModules: [...HANDLER_BUNDLING.external],
        // Local bundling runs esbuild in projectRoot, where the shims' relative paths resolve.
        esbuildArgs: { '--alias': Object.entries(HANDLER_BUNDLING.alias).map(([from, to]) => `${from}=${to}`) },
        ...bundlingHooks(props),
      },
    });
  }
}

/**
 * Native modules installed for linux-arm64 beside the bundle, and companion bundles (a worker's
 * own file, lib/handler-bundling.ts) built after it; neither: no hooks.
 */
function bundlingHooks(props: PipelineFunctionProps) {
  const native = props.nativeModules && props.nativeModules.length > 0 ? [...props.nativeModules] : [];
  const companions = COMPANION_BUNDLES[props.handlerName] ?? [];
  if (native.length === 0 && companions.length === 0) return {};
  return {
    ...(native.length > 0 ? { nodeModules: native } : {}),
    commandHooks: {
      // npm picks optional platform packages by these: the Lambda's, not the build machine's.
      beforeInstall: (_input: string, output: string) => (native.length > 0 ? [`printf 'os=linux\\ncpu=arm64\\nlibc=glibc\\n' > "${output}/.npmrc"`] : []),
      beforeBundling: () => [],
      afterBundling: (input: string, output: string) => [
        ...(native.length > 0 ? [`rm -f "${output}/.npmrc"`] : []),
        ...companions.map((companion) => companionBundleCommand(input, companion, output)),
      ],
    },
  };
}
