import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maxOutputChunkBytes, type TaskSpec } from '../protocol/messages.js';
import { Journal } from './journal.js';

const chunkBytes = maxOutputChunkBytes;
const task = (invokeId: string): TaskSpec => ({
  invokeId,
  commandType: 'RunShellScript',
  script: 'yes',
  username: '',
  workingDir: '',
  timeoutSeconds: 60,
  terminationMode: 'ProcessTree',
});
const run = (invokeId: string) => ({ invokeId, execution: 0 });
const caps = { runOutputMaxBytes: 2 * chunkBytes, outputMaxBytes: 3 * chunkBytes };

describe('the journal bounds the output it keeps for an absent server', () => {
  let dir: string;
  let journal: Journal;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-journal-caps-'));
    journal = new Journal(dir, caps);
  });

  afterEach(async () => {
    journal.close();
    await rm(dir, { recursive: true, force: true });
  });

  const print = (invokeId: string, index: number) =>
    journal.record(
      run(invokeId),
      {
        kind: 'output',
        offset: index * chunkBytes,
        data: Buffer.alloc(chunkBytes, index).toString('base64'),
      },
      1,
    );
  /** Per run, the offsets of the output chunks kept; and whether every other event is kept. */
  const kept = () => {
    const offsets: Record<string, number[]> = {};
    for (const { invokeId, event } of journal.unacknowledged()) {
      const key = event.kind === 'output' ? invokeId : `${invokeId} ${event.kind}`;
      offsets[key] = [...(offsets[key] ?? []), event.kind === 'output' ? event.offset / chunkBytes : 0];
    }
    return offsets;
  };

  it('drops the oldest chunks of a run past its cap, and the oldest of all past the total', () => {
    journal.accept(task('t-a'), run('t-a'), 1);
    for (let index = 0; index < 5; index++) print('t-a', index);
    expect(kept()).toEqual({ 't-a accepted': [0], 't-a': [3, 4] });
    journal.accept(task('t-b'), run('t-b'), 1);
    print('t-b', 0);
    print('t-b', 1);
    expect(kept()).toEqual({ 't-a accepted': [0], 't-a': [4], 't-b accepted': [0], 't-b': [0, 1] });
    journal.record(
      run('t-a'),
      {
        kind: 'finished',
        atMs: 2,
        status: 'Failed',
        exitCode: 3,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
        outputBytes: 5 * chunkBytes,
      },
      2,
    );
    journal.close();
    journal = new Journal(dir, caps);
    expect(kept()).toEqual({
      't-a accepted': [0],
      't-a': [4],
      't-a finished': [0],
      't-b accepted': [0],
      't-b': [0, 1],
    });
    // The end of the run is kept whole: its exit code and status never go.
    expect(journal.unacknowledged().find((e) => e.event.kind === 'finished')?.event).toMatchObject({
      exitCode: 3,
      status: 'Failed',
    });
  });

  it('counts only output the server has not acknowledged', () => {
    journal.accept(task('t-c'), run('t-c'), 1);
    const first = print('t-c', 0);
    print('t-c', 1);
    journal.acknowledge([first.eventId]);
    print('t-c', 2);
    expect(kept()).toEqual({ 't-c accepted': [0], 't-c': [1, 2] });
  });
});
