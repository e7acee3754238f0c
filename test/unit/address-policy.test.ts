// Unit tests for lambdas/core/address-policy.ts: every special-purpose range by example (with
// the range name we expect), public neighbours of each boundary, local-mode loopback, and
// properties for IPv4 addresses embedded in IPv6 (mapped, NAT64, 6to4, Teredo).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isForbiddenAddress, isIpLiteral, isLoopbackAddress } from '../../lambdas/core/address-policy';

describe('isForbiddenAddress: IPv4', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'instance-metadata'],
    ['169.254.170.2', 'container-credentials'],
    ['169.254.169.253', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['100.127.255.255', 'carrier-grade-nat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['254.1.2.3', 'reserved'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['192.0.0.8', 'ietf-protocol-assignments'],
    ['192.88.99.1', '6to4-relay-anycast'],
  ])('refuses %s (%s)', (ip, range) => {
    expect(isForbiddenAddress(ip)).toEqual({ forbidden: true, range });
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '11.0.0.1',
    '9.255.255.255',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.3.1',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
  ])('allows public %s', (ip) => {
    expect(isForbiddenAddress(ip)).toEqual({ forbidden: false });
  });
});

describe('isForbiddenAddress: IPv6', () => {
  it.each([
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'],
    ['::ffff:7f00:1', 'ipv4-mapped'],
    ['::ffff:169.254.169.254', 'ipv4-mapped'],
    // Mapped is refused even around a public address: no real service publishes one.
    ['::ffff:8.8.8.8', 'ipv4-mapped'],
    ['::ffff:0:a00:1', 'ipv4-translated'],
    ['::127.0.0.1', 'ipv4-compatible'],
    ['::8.8.8.8', 'ipv4-compatible'],
    ['64:ff9b::127.0.0.1', 'nat64:loopback'],
    ['64:ff9b::a9fe:a9fe', 'nat64:instance-metadata'],
    ['64:ff9b::10.1.2.3', 'nat64:private'],
    ['64:ff9b::100.64.0.1', 'nat64:carrier-grade-nat'],
    ['64:ff9b:1::a00:1', 'nat64-local-use'],
    ['64:ff9b:1:808:8:800::', 'nat64-local-use'],
    ['2002:7f00:1::1', '6to4:loopback'],
    ['2002:a9fe:a9fe::', '6to4:instance-metadata'],
    ['2002:c0a8:101::1', '6to4:private'],
    // Teredo: server in bits 32-63, client bit-inverted in bits 96-127 (RFC 4380).
    ['2001:0:a00:1::1', 'teredo:private'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'teredo:loopback'],
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'teredo:instance-metadata'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'teredo'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fd00:ec2::254', 'instance-metadata'],
    ['fd00:ec2::23', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fe80::1%eth0', 'scoped'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'ietf-protocol-assignments'],
    ['100::1', 'discard-only'],
    ['5f00::1', 'segment-routing'],
    ['4000::1', 'not-global-unicast'],
    ['1::1', 'not-global-unicast'],
  ])('refuses %s (%s)', (ip, range) => {
    expect(isForbiddenAddress(ip)).toEqual({ forbidden: true, range });
  });

  it.each([
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001:80b::200e',
    '2001:200::1',
    '64:ff9b::8.8.8.8',
    '64:ff9b::5db8:d70e',
    '2002:808:808::1',
    '3ffe::1',
  ])('allows public %s', (ip) => {
    expect(isForbiddenAddress(ip)).toEqual({ forbidden: false });
  });
});

describe('isForbiddenAddress: anything that is not a standard IP literal', () => {
  it.each([
    '',
    'localhost',
    'example.com',
    // Lenient spellings are for url-policy (WHATWG) to normalise; here they fail closed.
    '2130706433',
    '0x7f.0.0.1',
    '127.1',
    '010.0.0.1',
    '1.2.3.4.5',
    '256.1.1.1',
    '::ffff:010.0.0.1',
    '1:2:3:4:5:6:7:8:9',
    '[::1',
  ])('refuses %j as not-an-ip-address', (text) => {
    expect(isForbiddenAddress(text)).toEqual({ forbidden: true, range: 'not-an-ip-address' });
  });

  it('agrees with isIpLiteral', () => {
    expect(isIpLiteral('127.0.0.1')).toBe(true);
    expect(isIpLiteral('[2001:db8::1]')).toBe(true);
    expect(isIpLiteral('0x7f.1')).toBe(false);
    expect(isIpLiteral('example.com')).toBe(false);
  });
});

describe('local mode (loopbackAllowed)', () => {
  const local = { loopbackAllowed: true };

  it.each(['127.0.0.1', '127.8.9.10', '::1', '[::1]'])('allows loopback %s', (ip) => {
    expect(isForbiddenAddress(ip, local)).toEqual({ forbidden: false });
    expect(isLoopbackAddress(ip)).toBe(true);
  });

  it.each([
    ['10.0.0.1', 'private'],
    ['192.168.0.10', 'private'],
    ['169.254.169.254', 'instance-metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00::1', 'unique-local'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'],
    ['64:ff9b::127.0.0.1', 'nat64:loopback'],
    ['2002:7f00:1::1', '6to4:loopback'],
  ])('still refuses %s (%s)', (ip, range) => {
    expect(isForbiddenAddress(ip, local)).toEqual({ forbidden: true, range });
    expect(isLoopbackAddress(ip)).toBe(false);
  });
});

// ---------- properties: an IPv4 address inside IPv6 is judged by the IPv4 address ----------

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

const forbiddenV4 = fc
  .constantFrom(...FORBIDDEN_V4)
  .chain(([base, prefix]) => fc.integer({ min: 0, max: 2 ** (32 - prefix) - 1 }).map((offset) => toInt(base) + offset));
const publicV4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).filter((value) => !isForbiddenV4(value));

const dotted = (value: number) => [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
const hex16 = (value: number) => [Math.floor(value / 65536), value % 65536].map((part) => part.toString(16));

const embeddings = {
  mapped: (value: number) => `::ffff:${dotted(value)}`,
  mappedHex: (value: number) => `::ffff:${hex16(value).join(':')}`,
  nat64: (value: number) => `64:ff9b::${dotted(value)}`,
  nat64Hex: (value: number) => `64:ff9b::${hex16(value).join(':')}`,
  sixToFour: (value: number) => `2002:${hex16(value).join(':')}::1`,
  teredoClient: (value: number) => `2001:0:4136:e378:8000:63bf:${hex16(2 ** 32 - 1 - value).join(':')}`,
};

describe('properties', () => {
  it('refuses every address in a forbidden IPv4 range, bare and in every IPv6 embedding', () => {
    fc.assert(
      fc.property(forbiddenV4, fc.constantFrom(...Object.values(embeddings)), (value, embed) => {
        expect(isForbiddenAddress(dotted(value)).forbidden).toBe(true);
        expect(isForbiddenAddress(embed(value)).forbidden).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('allows every other IPv4 address, and its NAT64 and 6to4 forms, but never its mapped form', () => {
    fc.assert(
      fc.property(publicV4, (value) => {
        expect(isForbiddenAddress(dotted(value))).toEqual({ forbidden: false });
        expect(isForbiddenAddress(embeddings.nat64(value))).toEqual({ forbidden: false });
        expect(isForbiddenAddress(embeddings.sixToFour(value))).toEqual({ forbidden: false });
        expect(isForbiddenAddress(embeddings.mapped(value))).toEqual({ forbidden: true, range: 'ipv4-mapped' });
      }),
      { numRuns: 1000 },
    );
  });
});
