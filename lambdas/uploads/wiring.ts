// Wiring: builds the uploads use case's ports from the environment, once per cold start.
import { createS3Client } from '../adapters/aws-clients';
import { tablePorts } from '../adapters/dynamo/table-ports';
import { createS3UploadSigner } from '../adapters/s3-upload-signer';
import type { CreateUploadDeps } from '../core/create-upload';
import type { TenantDirectory } from '../core/ports';
import { ENV, requireEnv } from '../runtime-config';

export function buildUploadsDeps(
  env: Record<string, string | undefined>,
  ids: Pick<CreateUploadDeps, 'newUploadId'>,
): { deps: CreateUploadDeps; tenants: TenantDirectory } {
  const { settings, tenants } = tablePorts(env);
  const mediaBucket = requireEnv(env, ENV.mediaBucket);
  return {
    deps: { signer: createS3UploadSigner(createS3Client(env), mediaBucket), mediaBucket, settings, now: () => new Date(), ...ids },
    tenants,
  };
}
