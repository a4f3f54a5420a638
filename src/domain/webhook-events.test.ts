import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultRetryPolicy, nextAttemptAt, signatureOf, verifySignature } from './webhook-events.js';

describe('webhook signature', () => {
  const secret = 'whsec-0123456789abcdef';
  const body = '{"EventId":"evt-1","Type":"run.finished"}';
  const atMs = 1_765_000_000_123;

  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', secret).update(`1765000000.${body}`).digest('hex');
    expect(signatureOf(secret, body, atMs)).toBe(`t=1765000000,v1=${expected}`);
  });

  it('verifies its own signature, and fails a changed body, a wrong secret, an old timestamp', () => {
    const header = signatureOf(secret, body, atMs);
    expect(verifySignature(secret, body, header, atMs + 1000)).toBe(true);
    expect(verifySignature(secret, `${body} `, header, atMs)).toBe(false);
    expect(verifySignature('another-secret-value', body, header, atMs)).toBe(false);
    expect(verifySignature(secret, body, header, atMs + 301_000)).toBe(false);
    expect(verifySignature(secret, body, 't=1765000000,v1=zz', atMs)).toBe(false);
    expect(verifySignature(secret, body, '', atMs)).toBe(false);
  });
});

describe('webhook retries', () => {
  const policy = { firstDelayMs: 1000, maxDelayMs: 8000, giveUpAfterMs: 60_000 };

  it('double the wait after each failure, up to the cap', () => {
    const waits = [1, 2, 3, 4, 5, 6].map((attempts) => (nextAttemptAt(policy, attempts, 0, 0, 0) ?? -1) - 0);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('spread by the jitter by at most a fifth', () => {
    expect(nextAttemptAt(policy, 1, 0, 0, 0.999)).toBeLessThanOrEqual(1200);
    expect(nextAttemptAt(policy, 1, 0, 0, 0.5)).toBe(1100);
  });

  it('give up once the next attempt would be past the bound', () => {
    expect(nextAttemptAt(policy, 3, 0, 50_000, 0)).toBe(54_000);
    expect(nextAttemptAt(policy, 4, 0, 55_000, 0)).toBeUndefined();
  });

  it('by default retry for a day', () => {
    expect(defaultRetryPolicy.giveUpAfterMs).toBe(24 * 3_600_000);
    expect(nextAttemptAt(defaultRetryPolicy, 1000, 0, 0, 0)).toBe(defaultRetryPolicy.maxDelayMs);
  });
});
