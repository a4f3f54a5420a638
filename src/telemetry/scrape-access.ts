import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

/**
 * Who may read /metrics (docs/metrics.md, "Access"): with a token, whoever presents it as a bearer;
 * without one, clients on this machine only. The address is the socket's own: forwarding headers
 * are never believed.
 */

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
// IPv4 loopback as a dual-stack socket presents it.
loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** 127.0.0.0/8, ::1 (however written), and ::ffff:127.x.y.z. */
export function isLoopback(address: string | undefined): boolean {
  const family = isIP(address ?? '');
  if (address === undefined || family === 0) return false;
  return loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case); undefined otherwise. */
export function bearerOf(header: string | undefined): string | undefined {
  const match = /^bearer[ ]+([\x21-\x7e]{1,1024})[ ]*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Compares in constant time: both sides are hashed first, so neither the length nor the first
 * differing byte of the expected token shows in the time taken.
 */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
