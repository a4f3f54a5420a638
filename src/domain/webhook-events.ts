import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { InvocationInstance } from './invocation.js';

/**
 * What a webhook receives, how it is signed, and when a failed delivery is tried again. Pure: the
 * store writes these bodies into its outbox, the delivery worker signs and sends them.
 */

export type WebhookEventType = 'invocation.status' | 'run.finished' | 'webhook.test';

/** The invocation's columns an event carries besides the run's. */
export interface EventInvocation {
  readonly invokeId: string;
  readonly regionId: string;
  readonly resourceGroupId: string;
  readonly commandId: string;
}

const wireTime = (ms: number): string => (ms > 0 ? `${new Date(ms).toISOString().slice(0, 19)}Z` : '');

export const newEventId = (): string => `evt-${randomUUID()}`;

/** How a receiver fetches what the event leaves out (output travels only by reference). */
const outputReference = (invokeId: string, instanceId: string) => ({
  Action: 'DescribeInvocationResults',
  InvokeId: invokeId,
  InstanceId: instanceId,
  IncludeHistory: false,
});

/** A run's end (any final status): the body sent for it. */
export function runFinishedEvent(
  eventId: string,
  invocation: EventInvocation,
  run: InvocationInstance,
  atMs: number,
) {
  return {
    EventId: eventId,
    Type: 'run.finished' as const,
    CreatedAt: wireTime(atMs),
    RegionId: invocation.regionId,
    ResourceGroupId: invocation.resourceGroupId,
    CommandId: invocation.commandId,
    InvokeId: run.invokeId,
    InstanceId: run.instanceId,
    Execution: run.execution,
    Status: run.status,
    ExitCode: run.exitCode,
    ErrorCode: run.errorCode,
    ErrorInfo: run.errorInfo,
    StartTime: wireTime(run.startTimeMs),
    FinishTime: wireTime(run.finishTimeMs),
    OutputBytes: run.outputBytes,
    Output: outputReference(run.invokeId, run.instanceId),
  };
}

/** An invocation's aggregate status changed. */
export function invocationStatusEvent(
  eventId: string,
  invocation: EventInvocation,
  status: string,
  atMs: number,
) {
  return {
    EventId: eventId,
    Type: 'invocation.status' as const,
    CreatedAt: wireTime(atMs),
    RegionId: invocation.regionId,
    ResourceGroupId: invocation.resourceGroupId,
    CommandId: invocation.commandId,
    InvokeId: invocation.invokeId,
    InvocationStatus: status,
  };
}

export function testEvent(eventId: string, webhookId: string, atMs: number) {
  return { EventId: eventId, Type: 'webhook.test' as const, CreatedAt: wireTime(atMs), WebhookId: webhookId };
}

export const signatureHeader = 'X-OpenAssist-Signature';
export const eventIdHeader = 'X-OpenAssist-Event-Id';

const hmac = (secret: string, timestamp: number, body: string): string =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs. */
export function signatureOf(secret: string, body: string, atMs: number): string {
  const timestamp = Math.floor(atMs / 1000);
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/**
 * What a receiver does: true when a `v1` of the header matches the body and the timestamp is within
 * `toleranceSeconds` of `nowMs` (an old signed request replayed later fails).
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  nowMs: number,
  toleranceSeconds = 300,
): boolean {
  const parts = header.split(',').map((part) => part.split('=', 2) as [string, string?]);
  const timestamp = Number(parts.find(([name]) => name === 't')?.[1]);
  if (!Number.isInteger(timestamp) || Math.abs(nowMs / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  return parts.some(([name, value]) => {
    if (name !== 'v1' || value === undefined || !/^[0-9a-f]{64}$/.test(value)) return false;
    return timingSafeEqual(expected, Buffer.from(value, 'hex'));
  });
}

export interface RetryPolicy {
  /** The wait after the first failure; each next failure doubles it. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** After this long since the event, a failure is final. */
  readonly giveUpAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  firstDelayMs: 10_000,
  maxDelayMs: 60 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
};

/**
 * When to try again after failed attempt number `attempts` (1 for the first), or undefined to
 * give up. `jitter` in [0, 1) spreads retries of many events failing together by up to a fifth.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempts: number,
  createdAtMs: number,
  nowMs: number,
  jitter: number,
): number | undefined {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30);
  const delay = Math.min(policy.firstDelayMs * 2 ** exponent, policy.maxDelayMs);
  const at = nowMs + Math.round(delay * (1 + jitter / 5));
  return at - createdAtMs > policy.giveUpAfterMs ? undefined : at;
}
