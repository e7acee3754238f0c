// Bundling shim (lib/handler-bundling.ts CREDENTIAL_PROVIDER_SHIM): stands in for
// @aws-sdk/token-providers inside the Lambda bundles only. The Bedrock Runtime client offers
// bearer auth beside SigV4 and, for it, imports the SSO token chain, which pulls in the SSO OIDC
// client (@aws-sdk/nested-clients) that every cold start of the extractor then parses. Our
// functions sign with their execution role (SigV4); the one bearer source a Lambda could carry is
// the Bedrock API key variable (AWS_BEARER_TOKEN_BEDROCK, "Use an Amazon Bedrock API key",
// https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-use.html), which this keeps.

/** Same name as the SDK's, so the client's fallbacks treat it alike. */
export class TokenProviderError extends Error {
  override readonly name = 'TokenProviderError';
  readonly tryNextLink = false;
}

interface TokenIdentity {
  readonly token: string;
}

/** The variable the SDK reads for a service's bearer token (@aws-sdk/core getBearerTokenEnvKey). */
export const bearerTokenVariable = (signingName: string) => `AWS_BEARER_TOKEN_${signingName.replace(/[\s-]/g, '_').toUpperCase()}`;

export const fromEnvSigningName = ({ signingName }: { signingName?: string } = {}) => async (): Promise<TokenIdentity> => {
  const variable = bearerTokenVariable(signingName ?? '');
  const token = signingName ? process.env[variable] : undefined;
  if (token === undefined) throw new TokenProviderError(`Token not present in '${variable}' environment variable`);
  return { token };
};

/** The SSO token chain is not in the bundles: a function has no SSO session to read. */
export const nodeProvider = () => async (): Promise<TokenIdentity> => {
  throw new TokenProviderError('No bearer token: Lambda bundles sign with the execution role (SigV4) or read AWS_BEARER_TOKEN_<SERVICE>');
};
