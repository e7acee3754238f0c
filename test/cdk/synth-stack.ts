// Test helper: synthesizes the Metahook stack the way bin/metahook.ts does (cdk.json context,
// so feature flags match the CLI), without bundling the Lambdas (no esbuild run per test).
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseDeployConfig, type DeployContextKey } from '../../lib/deploy-config';
import { MetahookStack } from '../../lib/metahook-stack';
import { REPO_ROOT } from '../../lib/constructs/pipeline-function';
import type { Settings } from '../../lib/settings';

const cdkJson = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, 'utf8')) as { context: Record<string, unknown> };

export const TEST_ENV = { account: '123456789012', region: 'us-east-1' } as const;

export interface SynthOptions {
  readonly context?: Partial<Record<DeployContextKey, unknown>>;
  readonly settings?: Settings;
  /** Run cdk-nag AwsSolutions like bin/metahook.ts does. @default false */
  readonly nag?: boolean;
  /** aws-cdk-lib's built-in CloudFormation validator (~2-3 s). @default false */
  readonly cfnValidation?: boolean;
  /** Changes the stack before synthesis (e.g. adds a route). */
  readonly customize?: (stack: MetahookStack) => void;
}

export function synthStack(options: SynthOptions = {}) {
  const app = new App({
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: options.cfnValidation ?? false,
  });
  const config = parseDeployConfig(options.context ?? {}, { region: TEST_ENV.region });
  const stack = new MetahookStack(app, 'Metahook-test', { env: TEST_ENV, config, settings: options.settings });
  options.customize?.(stack);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  return { app, stack, assembly, config, template: Template.fromStack(stack) };
}
