// Domain rule: which IP addresses Metahook may open a connection to. Called by url-policy at
// intake (IP literals in URLs) and by adapters/safe-http after DNS, before every connect.
// Pure: parsing and CIDR matching with ipaddr.js, no I/O. Anything unparsable is refused.
// Only standard spellings count as addresses (1.2.3.4, ::1): the lenient forms ipaddr.js also
// reads (0x7f.1, 010.0.0.1) are refused, so no two parsers can disagree about the target.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface AddressVerdict {
  readonly forbidden: boolean;
  /** Why it is forbidden, e.g. "loopback", "private", "nat64:instance-metadata". */
  readonly range?: string;
}

export interface AddressPolicyOptions {
  /**
   * Local mode only: 127.0.0.0/8 and ::1 become reachable. Nothing else does (private, link-local,
   * IPv4-mapped loopback all stay refused), so the local stack cannot reach the host's LAN.
   * @default false
   */
  readonly loopbackAllowed?: boolean;
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface NamedRange {
  readonly name: string;
  readonly cidr: Cidr;
}

const range = (name: string, cidr: string): NamedRange => ({ name, cidr: ipaddr.parseCIDR(cidr) });

/**
 * IPv4 blocks that are not the public internet (IANA special-purpose registry, RFC 6890 and
 * successors). The most specific entry comes first so the reported name is the telling one.
 */
const FORBIDDEN_IPV4: readonly NamedRange[] = [
  // AWS endpoints that hand out credentials: the prize of an SSRF from a Lambda or container.
  range('instance-metadata', '169.254.169.254/32'),
  range('container-credentials', '169.254.170.2/32'),
  range('broadcast', '255.255.255.255/32'),
  range('unspecified', '0.0.0.0/8'),
  range('private', '10.0.0.0/8'),
  range('carrier-grade-nat', '100.64.0.0/10'),
  range('loopback', '127.0.0.0/8'),
  range('link-local', '169.254.0.0/16'),
  range('private', '172.16.0.0/12'),
  range('ietf-protocol-assignments', '192.0.0.0/24'),
  range('documentation', '192.0.2.0/24'),
  range('6to4-relay-anycast', '192.88.99.0/24'),
  range('private', '192.168.0.0/16'),
  range('benchmarking', '198.18.0.0/15'),
  range('documentation', '198.51.100.0/24'),
  range('documentation', '203.0.113.0/24'),
  range('multicast', '224.0.0.0/4'),
  range('reserved', '240.0.0.0/4'),
];

/** IPv6 blocks refused outright, whatever they embed. */
const FORBIDDEN_IPV6: readonly NamedRange[] = [
  range('instance-metadata', 'fd00:ec2::254/128'),
  range('unspecified', '::/128'),
  range('loopback', '::1/128'),
  // ::ffff:a.b.c.d reaches the IPv4 host on a dual-stack socket; no real service publishes one.
  range('ipv4-mapped', '::ffff:0:0/96'),
  range('ipv4-translated', '::ffff:0:0:0/96'),
  // Deprecated ::a.b.c.d (RFC 4291); what is left of ::/96 after the two above.
  range('ipv4-compatible', '::/96'),
  range('discard-only', '100::/64'),
  // RFC 8215: local-use NAT64 lives inside one operator's network, and where the IPv4 address
  // sits depends on that operator's prefix length, so it cannot be decoded reliably.
  range('nat64-local-use', '64:ff9b:1::/48'),
  range('benchmarking', '2001:2::/48'),
  // The rest of the IETF protocol block (ORCHID, AMT, AS112, ...; Teredo is handled before the
  // table): never a webhook receiver.
  range('ietf-protocol-assignments', '2001::/23'),
  range('documentation', '2001:db8::/32'),
  range('documentation', '3fff::/20'),
  range('segment-routing', '5f00::/16'),
  range('unique-local', 'fc00::/7'),
  range('link-local', 'fe80::/10'),
  range('site-local', 'fec0::/10'),
  range('multicast', 'ff00::/8'),
];

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
const TEREDO = ipaddr.parseCIDR('2001::/32');
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const LOOPBACK_IPV4 = ipaddr.parseCIDR('127.0.0.0/8');
const LOOPBACK_IPV6 = ipaddr.parseCIDR('::1/128');

const allowed: AddressVerdict = { forbidden: false };
const refuse = (name: string): AddressVerdict => ({ forbidden: true, range: name });

function findRange(address: ipaddr.IPv4 | ipaddr.IPv6, table: readonly NamedRange[]): string | undefined {
  return table.find((entry) => address.kind() === entry.cidr[0].kind() && address.match(entry.cidr))?.name;
}

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function checkIpv4(address: ipaddr.IPv4, options: AddressPolicyOptions): AddressVerdict {
  const name = findRange(address, FORBIDDEN_IPV4);
  if (name === undefined) return allowed;
  if (name === 'loopback' && options.loopbackAllowed === true) return allowed;
  return refuse(name);
}

/** An IPv6 address that carries an IPv4 one is only as good as the IPv4 address inside. */
function checkEmbedded(wrapper: string, inner: ipaddr.IPv4): AddressVerdict {
  // Loopback tunnelled through a translator is not "local mode" loopback: always refused.
  const verdict = checkIpv4(inner, { loopbackAllowed: false });
  return verdict.forbidden ? refuse(`${wrapper}:${verdict.range}`) : allowed;
}

function checkIpv6(address: ipaddr.IPv6, options: AddressPolicyOptions): AddressVerdict {
  // A zone index (fe80::1%eth0) only means something for scoped, non-public addresses.
  if (address.zoneId !== undefined) return refuse('scoped');
  const parts = address.parts;
  if (address.match(TEREDO)) {
    // Teredo (2001::/32) is obsolete tunnelling; nothing legitimate calls back over it, so it is
    // refused either way. The label names an embedded server or client address when it is telling.
    const server = checkEmbedded('teredo', ipv4FromParts(parts[2]!, parts[3]!));
    const client = checkEmbedded('teredo', ipv4FromParts(~parts[6]! & 0xffff, ~parts[7]! & 0xffff));
    return server.forbidden ? server : client.forbidden ? client : refuse('teredo');
  }
  const name = findRange(address, FORBIDDEN_IPV6);
  if (name !== undefined) {
    if (name === 'loopback' && options.loopbackAllowed === true) return allowed;
    return refuse(name);
  }
  if (address.match(NAT64_WELL_KNOWN)) return checkEmbedded('nat64', ipv4FromParts(parts[6]!, parts[7]!));
  if (address.match(SIX_TO_FOUR)) return checkEmbedded('6to4', ipv4FromParts(parts[1]!, parts[2]!));
  // Everything public in IPv6 is inside 2000::/3; the rest is unassigned or special.
  if (!address.match(GLOBAL_UNICAST)) return refuse('not-global-unicast');
  return allowed;
}

function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  // URL hostnames keep IPv6 literals in brackets; accept them so callers need not strip.
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // node:net's isIP is what the socket layer accepts; both parsers must call it an address.
  const family = isIP(bare);
  if (family === 0) return undefined;
  try {
    if (family === 4) return ipaddr.IPv4.parse(bare);
    // ipaddr.js reads "::a.b.c.d" as ::ffff:a.b.c.d, unlike the socket layer; the WHATWG
    // serialiser first rewrites any dotted tail as hex, which ipaddr.js then reads literally.
    const [address = '', zoneId] = bare.split('%');
    const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    const parsed = ipaddr.IPv6.parse(canonical);
    if (zoneId !== undefined) parsed.zoneId = zoneId;
    return parsed;
  } catch {
    return undefined;
  }
}

/** True when `ip` is an IPv4 or IPv6 literal in standard notation (brackets allowed). */
export function isIpLiteral(ip: string): boolean {
  return parseAddress(ip) !== undefined;
}

/** True for 127.0.0.0/8 and ::1 only (not for IPv4-mapped or translated loopback). */
export function isLoopbackAddress(ip: string): boolean {
  const address = parseAddress(ip);
  if (address === undefined) return false;
  if (address.kind() === 'ipv4') return address.match(LOOPBACK_IPV4);
  return (address as ipaddr.IPv6).zoneId === undefined && address.match(LOOPBACK_IPV6);
}

/**
 * Decides whether a connection to `ip` is refused. Fails closed: a string that is not an IP
 * address is forbidden (range "not-an-ip-address").
 */
export function isForbiddenAddress(ip: string, options: AddressPolicyOptions = {}): AddressVerdict {
  const address = parseAddress(ip);
  if (address === undefined) return refuse('not-an-ip-address');
  return address.kind() === 'ipv4'
    ? checkIpv4(address as ipaddr.IPv4, options)
    : checkIpv6(address as ipaddr.IPv6, options);
}
