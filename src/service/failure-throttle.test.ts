import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './failure-throttle.js';

describe('failure throttle per source address', () => {
  it('throttles an address after N failures a minute, each kind apart, others untouched', () => {
    let nowMs = 1_000_000;
    const throttle = new FailureThrottle(2, () => nowMs);
    throttle.failed('registration', '10.0.0.1');
    expect(throttle.retryAfterMs('registration', '10.0.0.1')).toBe(0);
    throttle.failed('registration', '10.0.0.1');
    expect(throttle.retryAfterMs('registration', '10.0.0.1')).toBe(30_000);
    expect(throttle.retryAfterMs('channel', '10.0.0.1')).toBe(0);
    expect(throttle.retryAfterMs('registration', '10.0.0.2')).toBe(0);
    nowMs += 30_000;
    expect(throttle.retryAfterMs('registration', '10.0.0.1')).toBe(0);
  });

  it('counts an IPv4 address seen through an IPv6 socket as itself', () => {
    const throttle = new FailureThrottle(1, () => 0);
    throttle.failed('channel', '::ffff:127.0.0.1');
    expect(throttle.retryAfterMs('channel', '127.0.0.1')).toBe(60_000);
  });

  it('keeps a bounded number of addresses, forgetting refilled ones first', () => {
    let nowMs = 0;
    const throttle = new FailureThrottle(1, () => nowMs);
    for (let i = 0; i < 10_000; i++) throttle.failed('registration', `10.0.${i >> 8}.${i & 255}`);
    nowMs += 60_000; // all refilled: the next new address makes room by forgetting them
    throttle.failed('registration', '192.168.0.1');
    expect(throttle.retryAfterMs('registration', '192.168.0.1')).toBe(60_000);
    expect(throttle.retryAfterMs('registration', '10.0.0.0')).toBe(0);
  });
});
