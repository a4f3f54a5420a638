import { closeSync, fsyncSync, openSync, readSync, rmSync } from 'node:fs';
import type { TaskEvent } from '../protocol/messages.js';
import { encodeHeader, encodeRecord, JournalDamaged } from './journal-format.js';
import { type JournalOp, JournalState, runOf } from './journal-state.js';
import { writeWhole } from './journal-write.js';

type Place = { at: number; length: number };

/** Reads one record's payload back from the journal file (an output event kept there). */
export function readPayload(fd: number, at: number, length: number): Buffer {
  const payload = Buffer.allocUnsafe(length);
  let read = 0;
  while (read < length) {
    const got = readSync(fd, payload, read, length - read, at + read);
    if (got === 0) throw new JournalDamaged(`the journal ends inside the record at byte ${at}`);
    read += got;
  }
  return payload;
}

/** The live state as records, one per run, schedule and event; an output's payload is copied as it is. */
function* snapshot(
  state: JournalState,
  fd: number,
): Generator<{ payload: Buffer; applyTo: (next: JournalState, place: Place) => void }> {
  const encode = (ops: JournalOp[]) => ({
    payload: Buffer.from(JSON.stringify(ops), 'utf8'),
    applyTo: (next: JournalState, place: Place) => {
      for (const op of ops) next.apply(op, place);
    },
  });
  yield encode([{ o: 'seq', next: state.nextSeq }]);
  for (const [key, run] of state.runs) {
    const { invokeId, execution } = runOf(key);
    yield encode([
      {
        o: 'run',
        i: invokeId,
        x: execution,
        s: run.state,
        at: run.updatedAt,
        ...(run.spec && { spec: run.spec }),
        ...(run.pid !== undefined && { pid: run.pid }),
        ...(run.bootId !== undefined && { boot: run.bootId }),
      },
    ]);
  }
  for (const [key, finishedAt] of state.finished) {
    const { invokeId, execution } = runOf(key);
    yield encode([{ o: 'run', i: invokeId, x: execution, s: 'finished', at: finishedAt }]);
  }
  for (const [invokeId, schedule] of state.schedules) {
    yield encode([
      {
        o: 'sched',
        i: invokeId,
        nx: schedule.nextExecution,
        cu: schedule.checkedUntilMs,
        ended: schedule.ended,
        at: schedule.updatedAt,
        ...(schedule.spec && { spec: schedule.spec }),
      },
    ]);
  }
  for (const entry of state.events.values()) {
    if (entry.at === undefined) {
      // No `at` means the event is in memory (addEvent sets exactly one of them); EventEntry keeps
      // one shape for both, as output events are added on a hot path.
      const event = entry.event as TaskEvent;
      yield encode([{ o: 'ev', n: entry.seq, i: entry.invokeId, x: entry.execution, e: event }]);
      continue;
    }
    // Not parsed: its place in the new file is all that changes.
    yield {
      payload: readPayload(fd, entry.at, entry.length),
      applyTo: (next, place) => next.placeOutput(entry, place),
    };
  }
}

/**
 * Writes what is live in `state` (its file open as `fd`) to `temp`, synced, and returns the state
 * that file holds (output places included) and its size. A failure removes the part written. The
 * file is written in batches as it is built: a journal holding 64 MiB of output is never all in memory.
 */
export function writeCompacted(
  state: JournalState,
  fd: number,
  temp: string,
): { state: JournalState; size: number } {
  const next = new JournalState();
  let size = 0;
  const out = openSync(temp, 'w', 0o600);
  try {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = () => {
      writeWhole(out, Buffer.concat(batch));
      batch = [];
      batchBytes = 0;
    };
    const add = (bytes: Buffer) => {
      batch.push(bytes);
      batchBytes += bytes.length;
      size += bytes.length;
      if (batchBytes >= 1024 * 1024) flush();
    };
    add(encodeHeader());
    for (const { payload, applyTo } of snapshot(state, fd)) {
      applyTo(next, { at: size + 8, length: payload.length });
      add(encodeRecord(payload));
    }
    flush();
    fsyncSync(out);
  } catch (error) {
    closeSync(out);
    rmSync(temp, { force: true }); // a part of a file, on a disk that may be full
    throw error;
  }
  closeSync(out);
  return { state: next, size };
}
