/**
 * A token bucket: `capacity` tokens, refilled continuously at `capacity` per `periodMs`. Pure: the
 * caller keeps the state and passes the time, so the rule is tested without clocks or timers.
 */
export interface BucketRule {
  readonly capacity: number;
  readonly periodMs: number;
}

export interface Bucket {
  readonly tokens: number;
  readonly atMs: number;
}

/** A bucket that nobody has drawn from yet. */
export const fullBucket = (rule: BucketRule, nowMs: number): Bucket => ({
  tokens: rule.capacity,
  atMs: nowMs,
});

/** The bucket as it stands at `nowMs`, refilled for the time passed (a clock going back refills nothing). */
export function refill(bucket: Bucket, rule: BucketRule, nowMs: number): Bucket {
  const elapsedMs = Math.max(0, nowMs - bucket.atMs);
  const tokens = Math.min(rule.capacity, bucket.tokens + (elapsedMs * rule.capacity) / rule.periodMs);
  return { tokens, atMs: Math.max(nowMs, bucket.atMs) };
}

/** Milliseconds until the bucket holds a whole token again; 0 when it holds one now. */
export function waitMs(bucket: Bucket, rule: BucketRule, nowMs: number): number {
  const now = refill(bucket, rule, nowMs);
  if (now.tokens >= 1) return 0;
  return Math.ceil(((1 - now.tokens) * rule.periodMs) / rule.capacity);
}

/** Takes one token (it may go below one: the caller checks `waitMs` before the attempt it charges). */
export function take(bucket: Bucket, rule: BucketRule, nowMs: number): Bucket {
  const now = refill(bucket, rule, nowMs);
  return { tokens: Math.max(0, now.tokens - 1), atMs: now.atMs };
}

/** Whether a bucket has refilled completely, so forgetting it changes nothing. */
export const isFull = (bucket: Bucket, rule: BucketRule, nowMs: number): boolean =>
  refill(bucket, rule, nowMs).tokens >= rule.capacity;
