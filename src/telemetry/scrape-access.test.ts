import { describe, expect, it } from 'vitest';
import { bearerOf, isLoopback, tokenMatches } from './scrape-access.js';

describe('isLoopback', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::0001',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
  ])('lets %s in', (address) => expect(isLoopback(address)).toBe(true));

  it.each([
    '10.0.0.1',
    '128.0.0.1',
    '::2',
    'fe80::1',
    '::ffff:10.0.0.1',
    '0.0.0.0',
    '',
    'localhost',
    undefined,
  ])('keeps %s out', (address) => expect(isLoopback(address)).toBe(false));
});

describe('bearerOf', () => {
  it('reads the token of a Bearer header, the scheme in any case', () => {
    expect(bearerOf('Bearer abc.DEF-123')).toBe('abc.DEF-123');
    expect(bearerOf('bearer   tok ')).toBe('tok');
  });

  it('refuses other schemes, empty tokens, spaces inside and oversized values', () => {
    expect(bearerOf(undefined)).toBeUndefined();
    expect(bearerOf('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerOf('Bearer ')).toBeUndefined();
    expect(bearerOf('Bearer a b')).toBeUndefined();
    expect(bearerOf(`Bearer ${'x'.repeat(1025)}`)).toBeUndefined();
  });
});

describe('tokenMatches', () => {
  it('matches only the same token, of any length', () => {
    expect(tokenMatches('s3cret-token-0123', 's3cret-token-0123')).toBe(true);
    expect(tokenMatches('s3cret-token-0124', 's3cret-token-0123')).toBe(false);
    expect(tokenMatches('s3cret', 's3cret-token-0123')).toBe(false);
    expect(tokenMatches(undefined, 's3cret-token-0123')).toBe(false);
  });
});
