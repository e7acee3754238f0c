// Secret custody: who may seal and who may open values sealed with the stack's secrets key
// (lambdas/core/secret-custody.ts names the purposes). Each grant is conditioned on the
// encryption context's `purpose`, which KMS checks on every GenerateDataKey and Decrypt:
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context
// So a role allowed to open receiver credentials cannot open signing secrets with the same key,
// and only roles granted here can use the key at all (the table's roles hold no grant on it).
// The IAM simulation (test/integration/iam-simulation.test.ts) proves which roles may decrypt.
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { SealingPurpose } from '../../lambdas/core/secret-custody';

const purposeCondition = (purposes: readonly SealingPurpose[]) => ({
  StringEquals: { 'kms:EncryptionContext:purpose': [...purposes] },
});

/** kms:Decrypt of data keys sealed for these purposes (SecretSealer.open). */
export function grantOpenSealed(key: IKey, grantee: IGrantable, purposes: readonly SealingPurpose[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['kms:Decrypt'], resources: [key.keyArn], conditions: purposeCondition(purposes) }),
  );
}

/** kms:GenerateDataKey for these purposes (SecretSealer.seal): seal new values, read none. */
export function grantSeal(key: IKey, grantee: IGrantable, purposes: readonly SealingPurpose[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [key.keyArn], conditions: purposeCondition(purposes) }),
  );
}
