// issue 16: everything the local stack starts (gateway, dynalite, fauxqs) listens on loopback
// only. Reads this process's listening sockets from /proc/net/tcp{,6} (matched by socket inode
// in /proc/self/fd), so a server bound to 0.0.0.0 or :: fails the test whatever its port.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/local-harness';

const LISTEN = '0A';

function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // the fd closed while we looked
    }
  }
  return inodes;
}

/** Local address of each listening socket of this process, as "ip:port" (IPv6 in /proc's hex). */
function listeningAddresses(): { family: 4 | 6; hexAddress: string; port: number }[] {
  const inodes = ownSocketInodes();
  const found: { family: 4 | 6; hexAddress: string; port: number }[] = [];
  for (const [file, family] of [['/proc/net/tcp', 4], ['/proc/net/tcp6', 6]] as const) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [hexAddress, hexPort] = fields[1]!.split(':');
      if (fields[3] === LISTEN && inodes.has(fields[9]!)) found.push({ family, hexAddress: hexAddress!, port: parseInt(hexPort!, 16) });
    }
  }
  return found;
}

/** /proc prints addresses in host byte order per 32-bit word: 127.0.0.1 is 0100007F. */
function isLoopbackHex(family: 4 | 6, hex: string): boolean {
  if (family === 4) return hex.endsWith('7F');
  if (hex === '00000000000000000000000001000000') return true; // ::1
  return hex.startsWith('0000000000000000FFFF0000') && hex.endsWith('7F'); // ::ffff:127.x.x.x
}

const haveProc = (() => {
  try {
    readFileSync('/proc/net/tcp');
    return true;
  } catch {
    return false;
  }
})();
if (!haveProc) console.warn('loopback-only: SKIPPED, /proc/net/tcp is not readable here');

describe.skipIf(!haveProc)('the local stack binds loopback only', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('has no listening socket on a wildcard or non-loopback address', () => {
    const listening = listeningAddresses();
    const ports = new Set(listening.map((socket) => socket.port));
    // The test sees the stack's servers at all: the gateway and both emulators.
    for (const endpoint of [h.stack.endpoint, h.stack.s3Endpoint, h.stack.dynamoEndpoint]) {
      if (typeof endpoint === 'string') expect(ports).toContain(Number(new URL(endpoint).port));
    }
    expect(listening.length).toBeGreaterThanOrEqual(3);
    expect(listening.filter((socket) => !isLoopbackHex(socket.family, socket.hexAddress))).toEqual([]);
  });
});
