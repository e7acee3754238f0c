// The cloud side of the 6 MB / 10 MB gap: a WAF web ACL on the v1 stage answers a Content-Length
// too large for a Lambda invoke with the API's 413 payload_too_large envelope, before API Gateway
// runs the integration (which would fail with a 5xx that invites a retry).
import { afterAll, describe, expect, it } from 'vitest';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import {
  API_GATEWAY_BODY_BYTES,
  CONTENT_LENGTH_OVER_LIMIT_REGEX,
  GATEWAY_BODY_LIMIT_BYTES,
  LAMBDA_SYNC_PAYLOAD_BYTES,
} from '../../lib/payload-limit';
import { synthStack } from './synth-stack';

afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

describe('request size guard (WAF)', () => {
  const { template, stack } = synthStack();
  const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as any[];

  it('blocks Content-Length at or over the limit with 413 and the payload_too_large envelope', () => {
    expect(acl.Properties.Scope).toBe('REGIONAL');
    expect(acl.Properties.DefaultAction).toEqual({ Allow: {} });
    const [rule] = acl.Properties.Rules;
    expect(rule.Statement.RegexMatchStatement).toEqual({
      RegexString: CONTENT_LENGTH_OVER_LIMIT_REGEX,
      FieldToMatch: { SingleHeader: { Name: 'content-length' } },
      TextTransformations: [{ Priority: 0, Type: 'NONE' }],
    });
    const response = rule.Action.Block.CustomResponse;
    expect(response.ResponseCode).toBe(413);
    const body = acl.Properties.CustomResponseBodies[response.CustomResponseBodyKey];
    expect(body.ContentType).toBe('APPLICATION_JSON');
    expect(JSON.parse(body.Content).error.code).toBe('payload_too_large');
    expect(response.ResponseHeaders).toContainEqual({ Name: 'X-Content-Type-Options', Value: 'nosniff' });
  });

  it('is attached to the API stage integrators call', () => {
    const [association] = Object.values(template.findResources('AWS::WAFv2::WebACLAssociation')) as any[];
    const stageId = stack.getLogicalId(stack.intakeApi.api.deploymentStage.node.defaultChild as never);
    expect(JSON.stringify(association.Properties.ResourceArn)).toContain(stageId);
    expect(association.Properties.WebACLArn['Fn::GetAtt'][1]).toBe('Arn');
  });

  it('matches exactly the lengths at or over the limit, and the limit keeps every event under 6 MB', () => {
    const regex = new RegExp(CONTENT_LENGTH_OVER_LIMIT_REGEX);
    for (const n of [0, 1, 262_144, GATEWAY_BODY_LIMIT_BYTES - 1]) expect(regex.test(String(n)), String(n)).toBe(false);
    for (const n of [GATEWAY_BODY_LIMIT_BYTES, LAMBDA_SYNC_PAYLOAD_BYTES - 1, LAMBDA_SYNC_PAYLOAD_BYTES + 1, API_GATEWAY_BODY_BYTES]) {
      expect(regex.test(String(n)), String(n)).toBe(true);
    }
    expect(regex.test('0001000000')).toBe(true);
    expect(regex.test('00999999')).toBe(false);
    // Worst case below the limit: every body byte escaped to six characters, plus 10 KB of headers.
    expect((GATEWAY_BODY_LIMIT_BYTES - 1) * 6 + 10_240 + 4_096).toBeLessThan(LAMBDA_SYNC_PAYLOAD_BYTES);
  });
});
