import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../protocol/messages.js';
import { MemoryJournal } from './memory-journal.js';

const task = { invokeId: 't-1' } as TaskSpec;
const run = { invokeId: 't-1', execution: 0 };
const finished = {
  kind: 'finished',
  atMs: 2,
  status: 'Success',
  exitCode: 0,
  errorCode: '',
  errorInfo: '',
  droppedBytes: 0,
} as const;

describe('MemoryJournal', () => {
  it('refuses a run twice while the server may still send it, and forgets it once its end is acknowledged', () => {
    const journal = new MemoryJournal();
    const accepted = journal.accept(task, run, 1);
    expect(accepted?.event.kind).toBe('accepted');
    expect(journal.accept(task, run, 1)).toBeUndefined();
    const end = journal.record(run, finished, 2);
    journal.acknowledge([accepted?.eventId ?? '']);
    expect(journal.accept(task, run, 1)).toBeUndefined();
    journal.acknowledge([end.eventId]);
    // What 100,000 runs leave behind is what is still in flight: nothing here.
    expect(journal.unacknowledged().map((event) => event.event.kind)).toEqual([]);
    expect(journal.accept(task, run, 3)?.event.kind).toBe('accepted');
  });
});
