// Unit tests for lambdas/core/media-scope.ts and the s3:// rules in url-policy.ts that serve it:
// which objects a tenant may have read (issue 16 "cross-tenant reads of media"), including the
// red team's percent-encoded ../ keys that passed the intake rule.
import { describe, expect, it } from 'vitest';
import { checkMediaScope, hasDotSegment, parseMediaSourceGrant, type MediaScope } from '../../lambdas/core/media-scope';
import { checkFileUrl, checkS3Location } from '../../lambdas/core/url-policy';
import type { OutboundPolicy, SourcePolicy } from '../../lambdas/runtime-config';

const SOURCES: SourcePolicy = { mediaBucket: 'metahook-media', allowedSourceBuckets: ['partner-uploads', 'shared-archive'] };
const CLOUD: OutboundPolicy = { allowLoopbackHttp: false, allowedPorts: [443] };
const TENANT_B: MediaScope = { tenantId: 'ten_B', grants: [{ bucket: 'partner-uploads', prefix: 'b/' }] };

/** Intake's full path for an s3:// URL: the URL rules, then the tenant scope. */
function verdict(url: string, scope: MediaScope = TENANT_B): string {
  const parsed = checkFileUrl(url, CLOUD, SOURCES);
  if (!parsed.ok) return `refused: ${parsed.reason}`;
  const inScope = checkMediaScope({ bucket: parsed.bucket!, key: parsed.key! }, scope, SOURCES);
  return inScope.ok ? 'accepted' : `refused: ${inScope.reason}`;
}

describe('tenant media scope', () => {
  it.each([
    ['s3://metahook-media/tenants/ten_B/uploads/01J/photo.jpg', 'its own upload prefix'],
    ['s3://metahook-media/tenants/ten_B/deep/er/a.png', 'anything below it'],
    ['s3://partner-uploads/b/2026/a.mp3', 'a granted prefix of an allowlisted bucket'],
  ])('accepts %s (%s)', (url) => {
    expect(verdict(url)).toBe('accepted');
  });

  it.each([
    ['s3://metahook-media/tenants/ten_A/uploads/01J/photo.jpg', /outside this tenant's media scope/, 'another tenant\'s upload'],
    ['s3://metahook-media/tenants/ten_Bx/photo.jpg', /outside this tenant's media scope/, 'a tenant id that only starts with B\'s'],
    ['s3://metahook-media/photo.jpg', /outside this tenant's media scope/, 'the bucket root (pre-issue-16 keys)'],
    ['s3://metahook-media/tenants/photo.jpg', /outside this tenant's media scope/, 'the tenants/ folder itself'],
    ['s3://partner-uploads/a/photo.jpg', /outside this tenant's media scope/, 'another prefix of a granted bucket'],
    ['s3://partner-uploads/bb/photo.jpg', /outside this tenant's media scope/, 'a prefix that only starts like the grant'],
    ['s3://shared-archive/b/photo.jpg', /outside this tenant's media scope/, 'an allowlisted bucket with no grant'],
    ['s3://unlisted-bucket/b/photo.jpg', /not the media bucket or on the allowed source bucket list/, 'a bucket the deployment cannot read'],
    // The red team's two keys: encoded separators WHATWG leaves alone decode to tenants/ten_B/../ten_A/...
    ['s3://metahook-media/tenants/ten_B/..%2Ften_A/uploads/photo.jpg', /\. or \.\. segments/, 'encoded slash after ..'],
    ['s3://metahook-media/tenants/ten_B/%2e%2e%2ften_A/uploads/photo.jpg', /\. or \.\. segments/, 'encoded dots and slash'],
    ['s3://metahook-media/tenants/ten_B/.%2e%2Ften_A/photo.jpg', /\. or \.\. segments/, 'half-encoded dots'],
    ['s3://metahook-media/tenants/ten_B%2F..%2Ften_A/photo.jpg', /\. or \.\. segments/, 'encoded slashes around ..'],
    ['s3://metahook-media/tenants/ten_B/..%5Cten_A/photo.jpg', /\. or \.\. segments/, 'encoded backslash'],
    ['s3://metahook-media/tenants/ten_B/%2e%2Fphoto.jpg', /\. or \.\. segments/, 'an encoded ./'],
    ['s3://metahook-media/tenants/ten_B/%2e%2e/ten_A/photo.jpg', /changes when the URL is normalised/, 'WHATWG normalises %2e%2e/'],
  ])('refuses %s', (url, reason) => {
    expect(verdict(url)).toMatch(reason);
  });

  it('gives the same reason for an existing and a missing object of another tenant (it never asks S3)', () => {
    const existing = verdict('s3://metahook-media/tenants/ten_A/uploads/01J/photo.jpg');
    const missing = verdict('s3://metahook-media/tenants/ten_A/uploads/01J/photo.jpg');
    expect(existing).toBe(missing);
    expect(existing).not.toMatch(/exist/);
  });

  it('never honours a grant on the media bucket: other tenants live there', () => {
    const scope: MediaScope = { tenantId: 'ten_B', grants: [{ bucket: 'metahook-media', prefix: '' }] };
    expect(verdict('s3://metahook-media/tenants/ten_A/photo.jpg', scope)).toMatch(/outside this tenant's media scope/);
  });

  it('refuses dot segments even when handed a decoded key directly (the extractor\'s re-check)', () => {
    expect(checkMediaScope({ bucket: 'metahook-media', key: 'tenants/ten_B/../ten_A/x.jpg' }, TENANT_B, SOURCES).ok).toBe(false);
    expect(checkS3Location('s3://metahook-media/tenants/ten_B/..%2Ften_A/x.jpg', SOURCES).ok).toBe(false);
  });

  it.each([
    ['a/../b', true], ['./a', true], ['a/..', true], ['a\\..\\b', true], ['a..b/c', false], ['a/.b/..c', false], ['tenants/x/', false],
  ])('hasDotSegment(%s) is %s', (key, expected) => {
    expect(hasDotSegment(key)).toBe(expected);
  });
});

describe('parseMediaSourceGrant (tenants allow-source)', () => {
  it.each([
    ['s3://partner-uploads/b/', { bucket: 'partner-uploads', prefix: 'b/' }],
    ['partner-uploads/b/c/', { bucket: 'partner-uploads', prefix: 'b/c/' }],
    ['s3://partner-uploads', { bucket: 'partner-uploads', prefix: '' }],
    ['s3://partner-uploads/', { bucket: 'partner-uploads', prefix: '' }],
  ])('parses %s', (raw, grant) => {
    expect(parseMediaSourceGrant(raw)).toEqual(grant);
  });

  it.each([
    ['s3://partner-uploads/b', /must end with "\/"/],
    ['s3://partner-uploads/../', /must not contain/],
    ['s3://partner-uploads/a/./', /must not contain/],
    ['s3://partner-uploads//', /must not contain/],
    ['s3://Partner/b/', /not a valid S3 bucket name/],
    ['s3://partner-uploads/a\\b/', /backslash/],
  ])('refuses %s', (raw, reason) => {
    expect(() => parseMediaSourceGrant(raw)).toThrow(reason);
  });
});
