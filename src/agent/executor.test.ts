import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/deadline.js';
import { taskSpec as task } from '../../test/helpers/task-spec.js';
import type { TaskEvent } from '../protocol/messages.js';
import { Executor } from './executor.js';
import { tempPathOf } from './file-writer.js';
import { Journal, type JournalEvent } from './journal.js';

describe('the executor', () => {
  let dir: string;
  let journal: Journal;
  let events: JournalEvent[];
  let executor: Executor;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-executor-'));
    journal = new Journal(dir);
    events = [];
    executor = new Executor({
      journal,
      emit: (event) => events.push(event),
      workDir: join(dir, 'work'),
      nowMs: Date.now,
      maxConcurrent: 1,
      maxQueued: 1,
      killGraceMs: 500,
    });
  });

  afterEach(async () => {
    await executor.stopAll();
    journal.close();
    await rm(dir, { recursive: true, force: true });
  });

  const finished = (invokeId: string) =>
    waitFor(
      `${invokeId} to finish`,
      () =>
        events.find((e) => e.invokeId === invokeId && e.event.kind === 'finished')?.event as
          | Extract<TaskEvent, { kind: 'finished' }>
          | undefined,
    );

  it('runs one task at a time, queues the next, and refuses beyond the queue', async () => {
    executor.submit(task('t-a', { script: 'sleep 0.3; echo a' }));
    executor.submit(task('t-b', { script: 'echo b' }));
    executor.submit(task('t-c', { script: 'echo c' }));
    expect(await finished('t-c')).toMatchObject({
      status: 'Error',
      errorInfo: expect.stringContaining('queue is full'),
    });
    expect(await finished('t-a')).toMatchObject({ status: 'Success' });
    expect(await finished('t-b')).toMatchObject({ status: 'Success' });
    const started = (id: string) => events.findIndex((e) => e.invokeId === id && e.event.kind === 'started');
    const ended = (id: string) => events.findIndex((e) => e.invokeId === id && e.event.kind === 'finished');
    expect(started('t-b')).toBeGreaterThan(ended('t-a'));
  });

  it('times a run start before it writes the process to the journal (the script may already run)', async () => {
    let clock = 1_000;
    const setProcess = journal.setProcess.bind(journal);
    // A journal write that takes a second of the clock.
    journal.setProcess = (...args: Parameters<Journal['setProcess']>) => {
      clock += 1_000;
      return setProcess(...args);
    };
    const timed = new Executor({
      journal,
      emit: (event) => events.push(event),
      workDir: join(dir, 'work'),
      nowMs: () => clock,
      maxConcurrent: 1,
      maxQueued: 1,
    });
    try {
      timed.submit(task('t-timed', { script: 'true' }));
      expect(await finished('t-timed')).toMatchObject({ status: 'Success' });
      const started = events.find((e) => e.invokeId === 't-timed' && e.event.kind === 'started');
      expect(started?.event).toMatchObject({ atMs: 1_000 });
    } finally {
      await timed.stopAll();
    }
  });

  it('says in `finished` how many output bytes it sent, so the server can count any that never arrived', async () => {
    executor.submit(task('t-count', { script: 'head -c 200000 /dev/zero' }));
    expect(await finished('t-count')).toMatchObject({
      status: 'Success',
      outputBytes: 200_000,
      droppedBytes: 0,
    });
    const chunks = events.filter((e) => e.invokeId === 't-count' && e.event.kind === 'output');
    const last = chunks.at(-1)?.event as Extract<TaskEvent, { kind: 'output' }>;
    expect(last.offset + Buffer.from(last.data, 'base64').length).toBe(200_000);
  });

  it('never runs a task twice, however often it is delivered', async () => {
    executor.submit(task('t-once'));
    executor.submit(task('t-once'));
    await finished('t-once');
    expect(events.filter((e) => e.invokeId === 't-once' && e.event.kind === 'started')).toHaveLength(1);
  });

  it('refuses batch files on Linux with CommandNotApplicable', async () => {
    executor.submit(task('t-bat', { commandType: 'RunBatScript', script: 'echo %PATH%' }));
    expect(await finished('t-bat')).toMatchObject({
      status: 'Failed',
      errorCode: 'CommandNotApplicable',
      errorInfo: 'the command is not applicable',
    });
  });

  describe('file tasks', () => {
    const fileTask = (invokeId: string, targetDir: string, content: string) =>
      task(invokeId, {
        script: '',
        file: {
          name: 'app.conf',
          targetDir,
          owner: 'root',
          group: 'root',
          mode: 0o600,
          overwrite: true,
          content: Buffer.from(content).toString('base64'),
        },
      });

    it.skipIf(process.getuid?.() !== 0)(
      'places the file once, however often it is delivered, and reports it',
      async () => {
        const targetDir = join(dir, 'files');
        executor.submit(fileTask('f-once', targetDir, 'one'));
        executor.submit(fileTask('f-once', targetDir, 'two'));
        expect(await finished('f-once')).toMatchObject({ status: 'Success', exitCode: null, errorCode: '' });
        expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe('one');
        const kinds = events.filter((e) => e.invokeId === 'f-once').map((e) => e.event.kind);
        expect(kinds).toEqual(['accepted', 'started', 'finished']);
      },
    );

    it('reports a file task cut off by a crash as interrupted and removes its temporary file', async () => {
      const targetDir = join(dir, 'crashed');
      await mkdir(targetDir);
      await writeFile(join(targetDir, 'app.conf'), 'old');
      await writeFile(tempPathOf(targetDir, 'f-crash'), 'ne');
      journal.accept(
        fileTask('f-crash', targetDir, 'new'),
        { invokeId: 'f-crash', execution: 0 },
        Date.now(),
      );
      expect(executor.recoverInterrupted()).toBe(1);
      expect(await finished('f-crash')).toMatchObject({
        status: 'Error',
        errorCode: 'ExecutionInterrupted',
        errorInfo: expect.stringContaining('(the partial temporary file was removed)'),
      });
      expect(await readdir(targetDir)).toEqual(['app.conf']);
      expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe('old');
    });
  });
});
