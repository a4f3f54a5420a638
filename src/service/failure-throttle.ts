import { type Bucket, type BucketRule, fullBucket, isFull, take, waitMs } from '../domain/token-bucket.js';

/** What a throttle counts failures of: each has buckets of its own. */
export type ThrottledAttempt = 'registration' | 'channel';

// Bounds the memory an attacker with many addresses can make us hold; full buckets go first.
const maxTrackedAddresses = 10_000;

/**
 * Slows guessing of activation codes and agent tokens: each source address may fail
 * `failuresPerMinute` times (a token bucket refilled over a minute); past that, every attempt from it
 * is refused unchecked until the bucket refills, so a guess cannot be tested at all. Successes cost
 * nothing, so a fleet registering from behind one NAT is never slowed by its own agents.
 */
export class FailureThrottle {
  private readonly rule: BucketRule;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    failuresPerMinute: number,
    private readonly nowMs: () => number,
  ) {
    this.rule = { capacity: failuresPerMinute, periodMs: 60_000 };
  }

  /** How long `address` must wait before its next attempt of this kind is checked; 0: now. */
  retryAfterMs(attempt: ThrottledAttempt, address: string): number {
    const bucket = this.buckets.get(keyOf(attempt, address));
    return bucket ? waitMs(bucket, this.rule, this.nowMs()) : 0;
  }

  /** Charges a failed attempt to its address. */
  failed(attempt: ThrottledAttempt, address: string): void {
    const key = keyOf(attempt, address);
    const now = this.nowMs();
    if (!this.buckets.has(key) && this.buckets.size >= maxTrackedAddresses) this.forgetFull(now);
    this.buckets.set(key, take(this.buckets.get(key) ?? fullBucket(this.rule, now), this.rule, now));
  }

  private forgetFull(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (isFull(bucket, this.rule, nowMs)) this.buckets.delete(key);
    }
    // Still full of live buckets: drop the oldest (Map keeps insertion order).
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < maxTrackedAddresses) break;
      this.buckets.delete(key);
    }
  }
}

/** An IPv4 address seen through an IPv6 socket counts as itself. */
const keyOf = (attempt: ThrottledAttempt, address: string): string =>
  `${attempt} ${address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')}`;
