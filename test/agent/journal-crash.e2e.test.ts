import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/agent/journal.js';
import { waitFor } from '../helpers/deadline.js';

// Runs dist/ (build first): a real process writing its journal as fast as it can, compacting
// often, SIGKILLed at a random moment, over and over on the same file.
const journalModule = fileURLToPath(new URL('../../dist/src/agent/journal.js', import.meta.url));

/** The child: accepts runs, prints each id once `accept` has returned, ends and acknowledges them. */
const writer = (stateDir: string, from: number) => `
const { Journal } = await import(${JSON.stringify(journalModule)});
const journal = new Journal(${JSON.stringify(stateDir)}, { minCompactBytes: 32 * 1024, scrubDelayMs: 0 });
for (let n = ${from}; ; n++) {
  const invokeId = 't-' + n;
  const run = { invokeId, execution: 0 };
  const task = { invokeId, commandType: 'RunShellScript', script: 'echo secret-' + n, username: '',
    workingDir: '', timeoutSeconds: 60, terminationMode: 'ProcessTree' };
  journal.accept(task, run, Date.now());
  process.stdout.write(invokeId + '\\n');
  const output = journal.record(run, { kind: 'output', offset: 0, data: Buffer.alloc(3000, n).toString('base64') }, 1);
  journal.record(run, { kind: 'finished', atMs: 1, status: 'Success', exitCode: 0, errorCode: '',
    errorInfo: '', droppedBytes: 0, outputBytes: 3000 }, 1);
  if (n % 3 !== 0) journal.acknowledge([output.eventId]);
  await new Promise((resolve) => setImmediate(resolve));
}`;

describe('a journal whose process is killed at any moment', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-journal-crash-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens after every SIGKILL with every run it had accepted, none twice', async () => {
    const accepted: string[] = [];
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', writer(dir, accepted.length)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let printed = '';
      child.stdout.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      // Killed once it has accepted a few hundred runs more, at a moment it does not choose.
      const target = 200 + Math.floor(Math.random() * 300);
      await waitFor(
        'runs to be accepted',
        () => (printed.split('\n').length > target ? true : undefined),
        60_000,
      );
      child.kill('SIGKILL');
      await exited;
      accepted.push(...printed.split('\n').filter((line) => line !== ''));

      const journal = new Journal(dir);
      try {
        for (const invokeId of accepted) {
          const state = journal.stateOf({ invokeId, execution: 0 });
          if (state === undefined) throw new Error(`${invokeId} was acknowledged as accepted and is gone`);
        }
        // Every run left without its end is one the writer was in the middle of: at most one. It
        // ends interrupted, as the agent's recovery ends it.
        const unfinished = journal.unfinished();
        expect(unfinished.length).toBeLessThanOrEqual(1);
        for (const { task } of unfinished) {
          journal.record(
            { invokeId: task.invokeId, execution: 0 },
            {
              kind: 'finished',
              atMs: 2,
              status: 'Error',
              exitCode: null,
              errorCode: 'ExecutionInterrupted',
              errorInfo: '',
              droppedBytes: 0,
            },
            2,
          );
        }
        const ids = journal.unacknowledged().map((event) => Number(event.eventId));
        expect(new Set(ids).size).toBe(ids.length);
      } finally {
        journal.close();
      }
    }
    expect(accepted.length).toBeGreaterThan(1_600);
  }, 180_000);
});
