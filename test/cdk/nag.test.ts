// cdk-nag AwsSolutions runs the way bin/metahook.ts runs it, with aws-cdk-lib's built-in
// CloudFormation validation on (the one test that pays for it). Every finding must be
// acknowledged with a reason, and the acknowledgements must stay specific.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { synthStack } from './synth-stack';

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations: { ruleName: string; reason: string }[];
  }[];
}

afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

describe('cdk-nag AwsSolutions', () => {
  it('passes with no unacknowledged error or warning, each acknowledgement giving a reason', () => {
    // Allowlisted buckets and a global profile add acknowledged wildcards; they must pass too.
    const { assembly } = synthStack({
      nag: true,
      cfnValidation: true,
      context: { allowedSourceBuckets: 'partner-uploads', imageModelId: 'global.amazon.nova-2-lite-v1:0' },
    });
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as ValidationReport;
    const awsSolutions = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(awsSolutions?.conclusion).toBe('success');
    expect(awsSolutions?.violations).toEqual([]);
    expect(awsSolutions!.suppressedViolations.length).toBeGreaterThan(0);
    for (const suppressed of awsSolutions!.suppressedViolations) {
      expect(suppressed.reason.length, suppressed.ruleName).toBeGreaterThan(40);
    }
    // cdk-nag plus the CloudFormation validator over the whole stack: ~10 s alone, more on a busy machine.
  }, 120_000);

  it('still fails a new wildcard grant: acknowledgements name exact findings', () => {
    expect(() =>
      synthStack({
        nag: true,
        customize: (stack) =>
          stack.extraction.extractor.role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::*/*'] })),
      }),
    ).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:s3:::\*\/\*\]/);
  });
});
