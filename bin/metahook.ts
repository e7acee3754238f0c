// CDK app entry (`npx cdk synth|deploy`): reads the deploy config from context, builds the
// stack, and runs the cdk-nag AwsSolutions checks on every synth. Nothing else.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DeployConfigError, metahookStackName, readDeployConfig } from '../lib/deploy-config';
import { MetahookStack } from '../lib/metahook-stack';

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

try {
  const config = readDeployConfig(app.node, { region: env.region });
  new MetahookStack(app, metahookStackName(config.stage), {
    env,
    config,
    description: `Metahook media-metadata webhook service (${config.stage})`,
    tags: { app: 'metahook', stage: config.stage },
  });
} catch (error) {
  if (error instanceof DeployConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
