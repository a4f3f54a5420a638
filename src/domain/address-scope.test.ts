import { describe, expect, it } from 'vitest';
import { addressScope, instanceIpFilter } from './address-scope.js';

describe('address scope', () => {
  it.each([
    ['10.1.2.3', 'intranet'],
    ['172.16.0.1', 'intranet'],
    ['172.31.255.255', 'intranet'],
    ['192.168.1.10', 'intranet'],
    ['100.64.0.1', 'intranet'],
    ['127.0.0.1', 'intranet'],
    ['169.254.169.254', 'intranet'],
    ['fd12:3456::1', 'intranet'],
    ['fe80::1', 'intranet'],
    ['::1', 'intranet'],
    ['', 'intranet'],
    ['172.32.0.1', 'internet'],
    ['8.8.8.8', 'internet'],
    ['47.96.1.2', 'internet'],
    ['100.128.0.1', 'internet'],
    ['2001:db8::1', 'internet'],
  ] as const)('%s is %s', (address, scope) => {
    expect(addressScope(address)).toBe(scope);
  });
});

describe('InstanceIp filter', () => {
  it('takes IPv4 and IPv6 addresses, an IPv4-mapped one as its IPv4 address', () => {
    expect(instanceIpFilter('192.168.0.7')).toBe('192.168.0.7');
    expect(instanceIpFilter('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(instanceIpFilter('fd00::1')).toBe('fd00::1');
  });

  it('refuses anything else with InvalidParameter', () => {
    for (const value of ['192.168.*.*', '10.0.0', 'host.example', '10.0.0.1/24']) {
      expect(() => instanceIpFilter(value)).toThrow(expect.objectContaining({ code: 'InvalidParameter' }));
    }
  });
});
