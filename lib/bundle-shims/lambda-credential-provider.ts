// Bundling shim (lib/handler-bundling.ts CREDENTIAL_PROVIDER_SHIM): stands in for
// @aws-sdk/credential-provider-node inside the Lambda bundles only. Every client's runtime config
// imports that package's defaultProvider, which chains env, SSO, INI profiles, process, web
// identity and IMDS, and pulls in the STS/SSO clients (@aws-sdk/nested-clients): 134 KB of the
// intake's 696 KB bundle, parsed at every cold start though a Lambda function never uses it.
// The Lambda runtime hands the execution role's credentials to the function in
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN ("Defined runtime environment
// variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime);
// runtimes that serve them from a container endpoint set AWS_CONTAINER_CREDENTIALS_FULL_URI or
// _RELATIVE_URI, which fromHttp reads. Those two sources, in the default chain's order, are all
// this shim keeps. The CLI, the local stack and the tests run unbundled with the full chain.
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';

/** Same name as the SDK's, so code that tells credential failures apart still does. */
export class CredentialsProviderError extends Error {
  override readonly name = 'CredentialsProviderError';
  /** The SDK's chains read this: nothing else would be tried. */
  readonly tryNextLink = false;
}

type ProviderInit = Parameters<typeof fromEnv>[0] & Parameters<typeof fromHttp>[0];
type CredentialProvider = ReturnType<typeof fromEnv>;

/** The env -> container part of the SDK's default chain, read at each call like the SDK's. */
export function defaultProvider(init: ProviderInit = {}): CredentialProvider {
  const fromEnvironment = fromEnv(init);
  // fromHttp reads its variables when built and throws without them: built on first need.
  let fromContainer: CredentialProvider | undefined;
  return async () => {
    if (process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY) return fromEnvironment();
    if (process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI || process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return (fromContainer ??= fromHttp(init))();
    throw new CredentialsProviderError(
      'No AWS credentials: this Lambda bundle reads only AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (set by the Lambda runtime) or a container credentials endpoint',
    );
  };
}
