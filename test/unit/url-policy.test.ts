// Unit tests for lambdas/core/url-policy.ts: the intake-time URL rules. Tables of hostile
// spellings (each with the reason it must be refused) next to public URLs that must pass, and
// properties: a forbidden IPv4 address is refused in every spelling WHATWG URL accepts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCallbackUrl, checkFileUrl, checkHttpUrl } from '../../lambdas/core/url-policy';
import type { OutboundPolicy, SourcePolicy } from '../../lambdas/runtime-config';

const CLOUD: OutboundPolicy = { allowLoopbackHttp: false, allowedPorts: [443] };
const LOCAL: OutboundPolicy = { allowLoopbackHttp: true, allowedPorts: [443] };
const SOURCES: SourcePolicy = { mediaBucket: 'metahook-media', allowedSourceBuckets: ['partner-uploads'] };

const reasonOf = (check: ReturnType<typeof checkCallbackUrl>) => (check.ok ? `accepted as ${check.kind}` : check.reason);

describe('checkCallbackUrl refuses (cloud policy)', () => {
  it.each([
    // scheme
    ['http://example.com/hook', /only https:\/\/ URLs are allowed/],
    ['http://127.0.0.1:8080/hook', /only https:\/\/ URLs are allowed/],
    ['ftp://example.com/hook', /ftp:\/\/ scheme is not allowed/],
    ['file:///etc/passwd', /file:\/\/ scheme is not allowed/],
    ['gopher://127.0.0.1:6379/_FLUSHALL', /gopher:\/\/ scheme is not allowed/],
    ['ws://example.com/hook', /ws:\/\/ scheme is not allowed/],
    ['javascript:alert(1)', /javascript:\/\/ scheme is not allowed/],
    ['data:text/plain,hi', /data:\/\/ scheme is not allowed/],
    ['s3://metahook-media/hook', /s3:\/\/ scheme is not allowed/],
    // loopback in every spelling WHATWG normalises to 127.0.0.1
    ['https://127.0.0.1/hook', /127\.0\.0\.1 is in a forbidden address range \(loopback\)/],
    ['https://2130706433/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://0x7f000001/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://0x7f.1/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://017700000001/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://0177.0.0.1/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://127.1/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://127.0.1/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://127.0.0.1./hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://\uff11\uff12\uff17.0.0.1/hook', /127\.0\.0\.1 .*\(loopback\)/],
    ['https://[::1]/hook', /::1 .*\(loopback\)/],
    ['https://[0:0:0:0:0:0:0:1]/hook', /::1 .*\(loopback\)/],
    ['https://[::ffff:127.0.0.1]/hook', /\(ipv4-mapped\)/],
    ['https://[::ffff:7f00:1]/hook', /\(ipv4-mapped\)/],
    ['https://[::127.0.0.1]/hook', /\(ipv4-compatible\)/],
    // cloud credentials
    ['https://169.254.169.254/latest/meta-data/', /\(instance-metadata\)/],
    ['https://2852039166/latest/meta-data/', /169\.254\.169\.254 .*\(instance-metadata\)/],
    ['https://0xa9fea9fe/', /\(instance-metadata\)/],
    ['https://0251.0376.0251.0376/', /\(instance-metadata\)/],
    ['https://169.254.43518/', /\(instance-metadata\)/],
    ['https://169.254.170.2/v2/credentials/x', /\(container-credentials\)/],
    ['https://[fd00:ec2::254]/latest/meta-data/', /\(instance-metadata\)/],
    ['https://[64:ff9b::a9fe:a9fe]/', /\(nat64:instance-metadata\)/],
    ['https://[64:ff9b::169.254.169.254]/', /\(nat64:instance-metadata\)/],
    ['https://[2002:a9fe:a9fe::]/', /\(6to4:instance-metadata\)/],
    ['https://[2001:0:4136:e378:8000:63bf:5601:5601]/', /\(teredo:instance-metadata\)/],
    // other non-public IPv4 and IPv6
    ['https://10.0.0.1/', /\(private\)/],
    ['https://172.16.5.4/', /\(private\)/],
    ['https://192.168.0.1/', /\(private\)/],
    ['https://3232235521/', /192\.168\.0\.1 .*\(private\)/],
    ['https://100.64.0.1/', /\(carrier-grade-nat\)/],
    ['https://0.0.0.0/', /\(unspecified\)/],
    ['https://0/', /0\.0\.0\.0 .*\(unspecified\)/],
    ['https://224.0.0.1/', /\(multicast\)/],
    ['https://255.255.255.255/', /\(broadcast\)/],
    ['https://240.0.0.1/', /\(reserved\)/],
    ['https://198.18.0.1/', /\(benchmarking\)/],
    ['https://192.0.2.1/', /\(documentation\)/],
    ['https://[::]/', /\(unspecified\)/],
    ['https://[fc00::1]/', /\(unique-local\)/],
    ['https://[fe80::1]/', /\(link-local\)/],
    ['https://[fec0::1]/', /\(site-local\)/],
    ['https://[ff02::1]/', /\(multicast\)/],
    ['https://[64:ff9b:1::a00:1]/', /\(nat64-local-use\)/],
    // names for this machine or an internal network
    ['https://localhost/hook', /localhost names this machine/],
    ['https://LOCALHOST/hook', /localhost names this machine/],
    ['https://localhost./hook', /localhost names this machine/],
    ['https://api.localhost/hook', /api\.localhost names this machine/],
    ['https://metadata.google.internal/computeMetadata/v1/', /private or internal name \(\*\.internal\)/],
    ['https://instance-data.ec2.internal/latest/', /\(\*\.internal\)/],
    ['https://instance-data/latest/', /instance-data is not a fully qualified domain name/],
    ['https://metadata/', /not a fully qualified domain name/],
    ['https://printer.local/', /\(\*\.local\)/],
    ['https://router.home.arpa/', /\(\*\.arpa\)/],
    ['https://1.0.0.127.in-addr.arpa/', /\(\*\.arpa\)/],
    // credentials in the URL
    ['https://user:pass@example.com/hook', /must not contain a user name or password/],
    ['https://user@example.com/hook', /must not contain a user name or password/],
    ['https://:secret@example.com/hook', /must not contain a user name or password/],
    ['https://example.com@127.0.0.1/hook', /must not contain a user name or password/],
    // ports
    ['https://example.com:8443/hook', /port 8443 is not allowed \(allowed: 443\)/],
    ['https://example.com:80/hook', /port 80 is not allowed/],
    ['https://example.com:22/hook', /port 22 is not allowed/],
    ['https://example.com:0/hook', /port 0 is not allowed/],
    // spellings other parsers read differently
    ['https://example.com/a b', /whitespace or control characters/],
    [' https://example.com/hook', /whitespace or control characters/],
    ['https://exa\tmple.com/hook', /whitespace or control characters/],
    ['https://example.com/hook\n', /whitespace or control characters/],
    ['https://example.com\u0000.evil.test/', /whitespace or control characters/],
    ['https://example.com\u00a0/', /whitespace or control characters/],
    ['https://example.com\u200b/', /whitespace or control characters/],
    ['https://example.com\\@127.0.0.1/', /contains a backslash/],
    // not a URL at all
    ['', /the URL is empty/],
    ['not a url', /whitespace or control characters/],
    ['example.com/hook', /not a valid absolute URL/],
    ['//example.com/hook', /not a valid absolute URL/],
    ['https://', /not a valid absolute URL/],
    ['https://example.com:65536/', /not a valid absolute URL/],
    ['https://[fe80::1%25eth0]/', /not a valid absolute URL/],
    [`https://example.com/${'a'.repeat(2048)}`, /longer than 2048 characters/],
  ])('%j', (raw, reason) => {
    const check = checkCallbackUrl(raw, CLOUD);
    expect(check.ok).toBe(false);
    expect(reasonOf(check)).toMatch(reason);
  });
});

describe('checkCallbackUrl accepts (cloud policy)', () => {
  it.each([
    ['https://example.com/hook', 'https://example.com/hook'],
    ['https://hooks.example.com:443/a/b?c=d#frag', 'https://hooks.example.com/a/b?c=d#frag'],
    ['https://EXAMPLE.com/Hook', 'https://example.com/Hook'],
    ['https://example.com./hook', 'https://example.com./hook'],
    ['https://93.184.215.14/hook', 'https://93.184.215.14/hook'],
    ['https://1572394766/hook', 'https://93.184.215.14/hook'],
    ['https://[2606:4700:4700::1111]/hook', 'https://[2606:4700:4700::1111]/hook'],
    ['https://[64:ff9b::8.8.8.8]/hook', 'https://[64:ff9b::808:808]/hook'],
    ['https://b\u00fccher.example/hook', 'https://xn--bcher-kva.example/hook'],
    ['https://files.example.test/hook', 'https://files.example.test/hook'],
    ['https://example.com/path%20with%20space', 'https://example.com/path%20with%20space'],
    [`https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`, undefined],
  ])('%j', (raw, normalised) => {
    const check = checkCallbackUrl(raw, CLOUD);
    expect(reasonOf(check)).toBe('accepted as https');
    if (check.ok && normalised !== undefined) expect(check.url.href).toBe(normalised);
  });

  it('accepts an extra port only when the policy lists it', () => {
    const withPort: OutboundPolicy = { allowLoopbackHttp: false, allowedPorts: [443, 8443] };
    expect(checkCallbackUrl('https://example.com:8443/hook', withPort).ok).toBe(true);
    expect(reasonOf(checkCallbackUrl('https://example.com:9443/hook', withPort))).toMatch(/port 9443 is not allowed \(allowed: 443, 8443\)/);
  });
});

describe('checkCallbackUrl in local mode (allowLoopbackHttp)', () => {
  it.each([
    ['http://127.0.0.1:3000/hook', 'http-loopback'],
    ['http://127.8.0.1/hook', 'http-loopback'],
    ['http://2130706433:3000/hook', 'http-loopback'],
    ['http://localhost:8080/hook', 'http-loopback'],
    ['http://LOCALHOST./hook', 'http-loopback'],
    ['http://api.localhost:3000/hook', 'http-loopback'],
    ['http://[::1]:9000/hook', 'http-loopback'],
    ['https://127.0.0.1/hook', 'https'],
    ['https://localhost/hook', 'https'],
    ['https://example.com/hook', 'https'],
  ])('accepts %j as %s', (raw, kind) => {
    expect(reasonOf(checkCallbackUrl(raw, LOCAL))).toBe(`accepted as ${kind}`);
  });

  it.each([
    ['http://example.com/hook', /http:\/\/ is allowed only for loopback hosts/],
    ['http://10.0.0.1:3000/hook', /http:\/\/ is allowed only for loopback hosts/],
    ['http://[::ffff:127.0.0.1]:3000/hook', /http:\/\/ is allowed only for loopback hosts/],
    ['http://0.0.0.0:3000/hook', /http:\/\/ is allowed only for loopback hosts/],
    ['https://10.0.0.1/hook', /\(private\)/],
    ['https://169.254.169.254/', /\(instance-metadata\)/],
    ['https://[::ffff:127.0.0.1]/', /\(ipv4-mapped\)/],
    ['https://127.0.0.1:8443/hook', /port 8443 is not allowed/],
    ['https://metadata.google.internal/', /\(\*\.internal\)/],
    ['http://user:pw@127.0.0.1:3000/hook', /must not contain a user name or password/],
  ])('still refuses %j', (raw, reason) => {
    expect(reasonOf(checkCallbackUrl(raw, LOCAL))).toMatch(reason);
  });
});

describe('checkFileUrl', () => {
  it.each([
    ['s3://metahook-media/uploads/a.jpg', 'metahook-media', 'uploads/a.jpg'],
    ['s3://partner-uploads/x%20y.mp3', 'partner-uploads', 'x y.mp3'],
    ['s3://metahook-media/caf%C3%A9/%E2%9C%93.png', 'metahook-media', 'caf\u00e9/\u2713.png'],
  ])('accepts %j on an allowed bucket', (raw, bucket, key) => {
    const check = checkFileUrl(raw, CLOUD, SOURCES);
    expect(check).toMatchObject({ ok: true, kind: 's3', bucket, key });
  });

  it.each([
    ['s3://other-bucket/a.jpg', /bucket other-bucket is not the media bucket or on the allowed source bucket list/],
    ['s3://metahook-media/', /must name an object/],
    ['s3://metahook-media', /must name an object/],
    ['s3://Metahook-Media/a.jpg', /not a valid S3 bucket name/],
    ['s3://metahook_media/a.jpg', /not a valid S3 bucket name/],
    ['s3://ab/a.jpg', /not a valid S3 bucket name/],
    ['s3://192.168.1.1/a.jpg', /not a valid S3 bucket name/],
    ['s3://xn--media/a.jpg', /not a valid S3 bucket name/],
    ['s3://metahook..media/a.jpg', /not a valid S3 bucket name/],
    ['s3://user@metahook-media/a.jpg', /must not contain a user name or password/],
    ['s3://metahook-media:9000/a.jpg', /must not contain a port/],
    ['s3://metahook-media/a.jpg?versionId=1', /must not contain \? or #/],
    ['s3://metahook-media/a.jpg#frag', /must not contain \? or #/],
    ['s3://metahook-media/a/../b.jpg', /changes when the URL is normalised/],
    ['s3://metahook-media/./b.jpg', /changes when the URL is normalised/],
    ['s3://metahook-media/a/%2e%2e/b.jpg', /changes when the URL is normalised/],
    ['s3://metahook-media/a<b>.jpg', /changes when the URL is normalised/],
    ['s3://metahook-media/%zz.jpg', /invalid percent-encoding/],
    ['S3://metahook-media/a.jpg', /write S3 locations as s3:\/\/bucket\/key/],
    ['s3:metahook-media/a.jpg', /write S3 locations as s3:\/\/bucket\/key/],
    ['s3://metahook-media/a b.jpg', /whitespace or control characters/],
    [`s3://metahook-media/${'k'.repeat(1025)}`, /longer than 1024 bytes/],
  ])('refuses %j', (raw, reason) => {
    expect(reasonOf(checkFileUrl(raw, CLOUD, SOURCES))).toMatch(reason);
  });

  it('applies the callback rules to http(s) file URLs', () => {
    expect(checkFileUrl('https://cdn.example.com/photo.jpg', CLOUD, SOURCES)).toMatchObject({ ok: true, kind: 'https' });
    expect(reasonOf(checkFileUrl('https://169.254.169.254/photo.jpg', CLOUD, SOURCES))).toMatch(/\(instance-metadata\)/);
    expect(reasonOf(checkFileUrl('http://cdn.example.com/photo.jpg', CLOUD, SOURCES))).toMatch(/only https/);
    expect(reasonOf(checkFileUrl('file:///etc/passwd', CLOUD, SOURCES))).toMatch(/file:\/\/ scheme is not allowed/);
    expect(checkFileUrl('http://127.0.0.1:4566/photo.jpg', LOCAL, SOURCES)).toMatchObject({ ok: true, kind: 'http-loopback' });
  });

  it('checkHttpUrl is the callback rule set', () => {
    expect(checkHttpUrl('https://example.com/a.jpg', CLOUD)).toMatchObject({ ok: true, kind: 'https' });
    expect(checkHttpUrl('s3://metahook-media/a.jpg', CLOUD).ok).toBe(false);
  });
});

// ---------- properties over IPv4 spellings ----------

/** The IPv4 ranges the policy must refuse, written out independently of the implementation. */
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];
const toInt = (dotted: string) => dotted.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
const inRange = (value: number, [base, prefix]: readonly [string, number]) =>
  Math.floor(value / 2 ** (32 - prefix)) === Math.floor(toInt(base) / 2 ** (32 - prefix));
const isForbiddenV4 = (value: number) => FORBIDDEN_V4.some((entry) => inRange(value, entry));

const rangeValue = (ranges: ReadonlyArray<readonly [string, number]>) =>
  fc
    .constantFrom(...ranges)
    .chain(([base, prefix]) => fc.integer({ min: 0, max: 2 ** (32 - prefix) - 1 }).map((offset) => toInt(base) + offset));
const forbiddenV4 = rangeValue(FORBIDDEN_V4);
const forbiddenNonLoopbackV4 = rangeValue(FORBIDDEN_V4.filter(([base]) => base !== '127.0.0.0'));
const publicV4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).filter((value) => !isForbiddenV4(value));

const octetsOf = (value: number) => [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
const dotted = (value: number) => octetsOf(value).join('.');
type Base = 'dec' | 'hex' | 'HEX' | 'oct';
const inBase = (n: number, base: Base) =>
  base === 'dec' ? String(n) : base === 'hex' ? `0x${n.toString(16)}` : base === 'HEX' ? `0X${n.toString(16).toUpperCase()}` : `0${n.toString(8)}`;
const anyBase = fc.constantFrom<Base>('dec', 'hex', 'HEX', 'oct');

/** Every IPv4 spelling WHATWG URL accepts: 1 to 4 parts, each part in its own base, optional trailing dot. */
const v4Spelling = (value: number) =>
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.array(anyBase, { minLength: 4, maxLength: 4 }), fc.boolean()).map(([partCount, bases, trailingDot]) => {
    const octets = octetsOf(value);
    const head = octets.slice(0, partCount - 1);
    const tail = octets.slice(partCount - 1).reduce((acc, octet) => acc * 256 + octet, 0);
    const parts = [...head, tail].map((n, index) => inBase(n, bases[index]!));
    return `${parts.join('.')}${trailingDot ? '.' : ''}`;
  });

const hexPair = (value: number) => [Math.floor(value / 65536), value % 65536].map((part) => part.toString(16)).join(':');
/** IPv6 literals that carry the IPv4 address. */
const v6Spelling = (value: number) =>
  fc.constantFrom(
    `[::ffff:${dotted(value)}]`,
    `[::ffff:${hexPair(value)}]`,
    `[0:0:0:0:0:ffff:${dotted(value)}]`,
    `[::${dotted(value)}]`,
    `[64:ff9b::${dotted(value)}]`,
    `[64:ff9b::${hexPair(value)}]`,
    `[2002:${hexPair(value)}::1]`,
  );

describe('properties', () => {
  it('refuses every forbidden IPv4 address in every IPv4 and IPv6 spelling, for callbacks and files', () => {
    fc.assert(
      fc.property(forbiddenV4.chain((value) => fc.oneof(v4Spelling(value), v6Spelling(value))), fc.constantFrom('', ':443'), (host, port) => {
        const raw = `https://${host}${port}/hook.jpg`;
        expect(checkCallbackUrl(raw, CLOUD).ok).toBe(false);
        expect(checkFileUrl(raw, CLOUD, SOURCES).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('local mode refuses every forbidden non-loopback IPv4 address in every spelling, over http and https', () => {
    fc.assert(
      fc.property(
        forbiddenNonLoopbackV4.chain((value) => fc.oneof(v4Spelling(value), v6Spelling(value)))
          // `[::0.0.0.1]` is the IPv4-compatible spelling of ::1, the IPv6 loopback: allowed locally.
          .filter((host) => host !== '[::0.0.0.1]'),
        fc.constantFrom('http', 'https'),
        (host, scheme) => {
          expect(checkCallbackUrl(`${scheme}://${host}:3000/hook`, LOCAL).ok).toBe(false);
          expect(checkCallbackUrl(`${scheme}://${host}/hook`, LOCAL).ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('accepts every other IPv4 address in every IPv4 spelling, normalised to dotted decimal', () => {
    fc.assert(
      fc.property(publicV4.chain((value) => v4Spelling(value).map((host) => [value, host] as const)), ([value, host]) => {
        const check = checkCallbackUrl(`https://${host}/hook`, CLOUD);
        expect(reasonOf(check)).toBe('accepted as https');
        expect(check.ok && check.url.hostname).toBe(dotted(value));
      }),
      { numRuns: 2000 },
    );
  });
});
