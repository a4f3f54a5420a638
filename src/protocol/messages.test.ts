import { describe, expect, it } from 'vitest';
import {
  type AgentMessage,
  maxFrameBytes,
  maxOutputChunkBytes,
  messageLimits,
  parseAgentMessage,
  parseServerMessage,
} from './messages.js';

const hello = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'hello',
    protocolVersion: 1,
    agentVersion: '0.3.0',
    bootId: 'boot',
    hostname: 'web-1',
    osType: 'linux',
    osVersion: 'Linux',
    timeZone: 'UTC',
    shells: ['bash'],
    ...fields,
  });

const event = (fields: Record<string, unknown>, payload: Record<string, unknown>) =>
  JSON.stringify({ type: 'event', eventId: '1', invokeId: 't-1', ...fields, event: payload });

const finished = (fields: Record<string, unknown> = {}) => ({
  kind: 'finished',
  atMs: 1,
  status: 'Success',
  exitCode: 0,
  errorCode: '',
  errorInfo: '',
  droppedBytes: 0,
  ...fields,
});

const ids = (count: number) => Array.from({ length: count }, (_, i) => `t-${i}`);

describe('agent messages are bounded', () => {
  it('takes hello lists up to their limit and refuses longer ones', () => {
    const limit = messageLimits.heldEntries;
    const runs = ids(limit).map((invokeId, execution) => ({ invokeId, execution }));
    expect(parseAgentMessage(hello({ schedules: ids(limit), runs }))).toMatchObject({
      schedules: ids(limit),
      runs,
    } satisfies Partial<Extract<AgentMessage, { type: 'hello' }>>);
    expect(parseAgentMessage(hello({ schedules: ids(limit + 1) }))).toBeUndefined();
    expect(parseAgentMessage(hello({ runs: [...runs, { invokeId: 't-x', execution: 0 }] }))).toBeUndefined();
    expect(parseAgentMessage(hello({ shells: Array(messageLimits.shells + 1).fill('sh') }))).toBeUndefined();
    // 60,000 copies of one id fit in a frame: the count alone refuses them.
    expect(parseAgentMessage(hello({ schedules: Array(60_000).fill('x') }))).toBeUndefined();
  });

  it('lets the longest lists of real ids fit in one frame', () => {
    const realIds = Array.from({ length: messageLimits.heldEntries }, (_, i) =>
      `t-${'f'.repeat(28)}${i}`.slice(0, 34),
    );
    const runs = realIds.map((invokeId) => ({ invokeId, execution: 999_999 }));
    const text = hello({ schedules: realIds, runs, hostname: 'h'.repeat(messageLimits.textChars) });
    expect(Buffer.byteLength(text)).toBeLessThan(maxFrameBytes);
    expect(parseAgentMessage(text)).toBeDefined();
  });

  it('refuses malformed held runs and over-long ids and texts', () => {
    for (const run of [
      { invokeId: 't-1' },
      { invokeId: 't-1', execution: -1 },
      { invokeId: 1, execution: 0 },
    ])
      expect(parseAgentMessage(hello({ runs: [run] })), JSON.stringify(run)).toBeUndefined();
    const longId = 'x'.repeat(messageLimits.idChars + 1);
    expect(parseAgentMessage(hello({ schedules: [longId] }))).toBeUndefined();
    expect(parseAgentMessage(hello({ runs: [{ invokeId: longId, execution: 0 }] }))).toBeUndefined();
    expect(parseAgentMessage(hello({ hostname: 'h'.repeat(messageLimits.textChars + 1) }))).toBeUndefined();
    expect(parseAgentMessage(event({ eventId: longId }, { kind: 'accepted' }))).toBeUndefined();
    expect(parseAgentMessage(event({ invokeId: longId }, { kind: 'accepted' }))).toBeUndefined();
    expect(parseAgentMessage(event({}, { kind: 'accepted' }))).toBeDefined();
  });

  it('takes one output chunk of Base64 and an error text up to their limits, nothing longer', () => {
    const chunk = Buffer.alloc(maxOutputChunkBytes, 0xff).toString('base64');
    expect(chunk.length).toBe(messageLimits.outputDataChars);
    expect(parseAgentMessage(event({}, { kind: 'output', offset: 0, data: chunk }))).toBeDefined();
    expect(parseAgentMessage(event({}, { kind: 'output', offset: 0, data: `${chunk}AAAA` }))).toBeUndefined();
    const info = 'i'.repeat(messageLimits.errorInfoChars);
    expect(parseAgentMessage(event({}, finished({ errorInfo: info })))).toBeDefined();
    expect(parseAgentMessage(event({}, finished({ errorInfo: `${info}i` })))).toBeUndefined();
    expect(
      parseAgentMessage(event({}, finished({ errorCode: 'E'.repeat(messageLimits.textChars + 1) }))),
    ).toBeUndefined();
  });
});

describe('self-upgrade messages', () => {
  it('takes a hello with or without the agent architecture, a bounded one only', () => {
    expect(parseAgentMessage(hello({ arch: 'x64' }))).toMatchObject({ arch: 'x64' });
    expect(parseAgentMessage(hello())).toBeDefined();
    expect(parseAgentMessage(hello({ arch: 'x'.repeat(messageLimits.idChars + 1) }))).toBeUndefined();
    expect(parseAgentMessage(hello({ arch: 64 }))).toBeUndefined();
  });

  const offer = (fields: Record<string, unknown> = {}) =>
    JSON.stringify({
      type: 'upgrade',
      version: '0.3.0',
      path: '/agent/download/openassist-agent-linux-x64',
      sha256: 'ab'.repeat(32),
      sizeBytes: 1000,
      windows: ['02:00-03:00'],
      timeZone: 'UTC',
      ...fields,
    });

  it('reads an upgrade offer and refuses a malformed one', () => {
    expect(parseServerMessage(offer())).toMatchObject({ type: 'upgrade', version: '0.3.0' });
    expect(parseServerMessage(offer({ windows: [] }))).toBeDefined();
    expect(parseServerMessage(offer({ sha256: 'AB'.repeat(32) }))).toBeUndefined();
    expect(parseServerMessage(offer({ sha256: 'ab' }))).toBeUndefined();
    expect(parseServerMessage(offer({ path: 'http://elsewhere/file' }))).toBeUndefined();
    expect(parseServerMessage(offer({ path: '//elsewhere/file' }))).toBeUndefined();
    expect(parseServerMessage(offer({ sizeBytes: -1 }))).toBeUndefined();
    expect(parseServerMessage(offer({ windows: [1] }))).toBeUndefined();
    expect(parseServerMessage(offer({ version: undefined }))).toBeUndefined();
  });
});
