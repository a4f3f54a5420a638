import { BlockList, isIP } from 'node:net';
import { ApiError } from './errors.js';

/**
 * Where an address an agent registered from belongs in DescribeManagedInstances: `IntranetIp`
 * (private, shared, loopback and link-local ranges, which no one reaches from the internet) or
 * `InternetIp` (any other address). The server sees one address per agent, so it fills one of them.
 */
export type AddressScope = 'intranet' | 'internet';

const intranet = new BlockList();
for (const [network, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
] as const) {
  intranet.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['fc00::', 7], // unique local (RFC 4193)
  ['fe80::', 10],
  ['::1', 128],
] as const) {
  intranet.addSubnet(network, prefix, 'ipv6');
}

/** The scope of `address`; an empty or unparsable one (never recorded by registration) is intranet. */
export function addressScope(address: string): AddressScope {
  const family = isIP(address);
  if (family === 0) return 'intranet';
  return intranet.check(address, family === 4 ? 'ipv4' : 'ipv6') ? 'intranet' : 'internet';
}

/**
 * DescribeManagedInstances' `InstanceIp`: an IPv4 or IPv6 address, compared with the address the
 * agent registered from (recorded without the `::ffff:` of an IPv4-mapped address).
 */
export function instanceIpFilter(value: string): string {
  const plain = value.startsWith('::ffff:') && isIP(value.slice(7)) === 4 ? value.slice(7) : value;
  if (isIP(plain) === 0)
    throw new ApiError('InvalidParameter', 'InstanceIp must be an IPv4 or IPv6 address.');
  return plain;
}
