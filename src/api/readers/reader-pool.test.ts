import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/deadline.js';
import { ApiError } from '../../domain/errors.js';
import type { ReadRequest } from '../action.js';
import { type ReaderOutcome, ReaderPool } from './reader-pool.js';

// Real worker threads running small CommonJS sources: each call's action names what the thread
// does with it (answer, fail with an ApiError or otherwise, crash, never answer).
const threadSource = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (call) => {
  if (call.action === 'Answer') { const body = new TextEncoder().encode(call.requestId); parentPort.postMessage({ id: call.id, type: 'text/plain', body }, [body.buffer]); }
  if (call.action === 'Refuse') parentPort.postMessage({ id: call.id, code: 'InvalidParameter', message: 'refused here' });
  if (call.action === 'Unknown') parentPort.postMessage({ id: call.id, code: 'NoSuchCode', message: 'secret detail' });
  if (call.action === 'Fail') parentPort.postMessage({ id: call.id, failed: 'database is locked' });
  if (call.action === 'Crash') throw new Error('the reader thread crashed');
  if (call.action === 'Exit') process.exit(3);
  // 'Hang': never answered
});
`;

const request = (action: string, requestId = 'r-1'): ReadRequest => ({
  action,
  requestId,
  regionId: 'cn-hangzhou',
  params: new Map([['InvokeId', 't-1']]),
  format: 'JSON',
});

const pools: ReaderPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

function pool(threads: number, maxPendingPerThread: number) {
  const outcomes: ReaderOutcome[] = [];
  const warnings: string[] = [];
  let started = 0;
  const readers = new ReaderPool({
    threads,
    maxPendingPerThread,
    start: () => {
      started++;
      return new Worker(threadSource, { eval: true });
    },
    log: { warn: (_fields, message) => warnings.push(message) },
    restartDelayMs: 10,
    observe: (outcome) => outcomes.push(outcome),
  });
  pools.push(readers);
  return { readers, outcomes, warnings, started: () => started };
}

describe('reader pool', () => {
  it("answers with the reader thread's rendered text", async () => {
    const { readers, outcomes } = pool(1, 4);
    expect(await readers.answer(request('Answer', 'r-42'))).toEqual({
      type: 'text/plain',
      text: Buffer.from('r-42'),
    });
    expect(outcomes).toEqual(['reader']);
  });

  it("rejects with the reader's ApiError: same code, status and message; an unknown code is InternalError", async () => {
    const { readers } = pool(1, 4);
    const refused = await readers.answer(request('Refuse')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ code: 'InvalidParameter', status: 400, message: 'refused here' });
    const unknown = await readers.answer(request('Unknown')).catch((error: unknown) => error);
    expect(unknown).toMatchObject({ code: 'InternalError', status: 500 });
    expect((unknown as Error).message).not.toContain('secret detail');
  });

  it('hands a call the reader could not answer back to the main thread (undefined)', async () => {
    const { readers, outcomes, warnings } = pool(1, 4);
    expect(await readers.answer(request('Fail'))).toBeUndefined();
    expect(outcomes).toEqual(['handed_back']);
    expect(warnings).toContain('a reader thread could not answer a call');
  });

  it('bounds the calls handed to readers: past threads × maxPending, a call is left to the main thread at once', async () => {
    const { readers, outcomes } = pool(2, 3);
    const hanging = Array.from({ length: 6 }, () => readers.answer(request('Hang')));
    expect(readers.pendingCalls).toBe(6);
    expect(await readers.answer(request('Answer'))).toBeUndefined();
    expect(outcomes).toEqual(['full']);
    expect(readers.pendingCalls).toBe(6);
    // Closing hands every unanswered call back: none is lost.
    await readers.close();
    expect(await Promise.all(hanging)).toEqual(Array(6).fill(undefined));
  });

  it('spreads calls over the threads (the one with fewest unanswered first)', async () => {
    const { readers } = pool(2, 1);
    const hanging = [readers.answer(request('Hang')), readers.answer(request('Hang'))];
    expect(readers.pendingCalls).toBe(2);
    await readers.close();
    expect(await Promise.all(hanging)).toEqual([undefined, undefined]);
  });

  it.each(['Crash', 'Exit'])(
    'survives a thread that dies (%s): its calls go back to the main thread, and it starts again',
    async (death) => {
      const { readers, outcomes, started } = pool(1, 4);
      const held = readers.answer(request('Hang'));
      const dying = readers.answer(request(death));
      expect(await dying).toBeUndefined();
      expect(await held).toBeUndefined();
      expect(outcomes).toEqual(['handed_back', 'handed_back']);
      // Meanwhile (no thread) calls are the main thread's; then the restarted thread answers.
      const answered = await waitFor('the restarted reader to answer', async () =>
        readers.answer(request('Answer', 'r-after')),
      );
      expect(answered).toEqual({ type: 'text/plain', text: Buffer.from('r-after') });
      expect(started()).toBe(2);
    },
  );
});
