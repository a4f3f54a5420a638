import type { Kysely } from 'kysely';
import { placeChunk } from '../../domain/output-placement.js';
import { maxOutputChunkBytes } from '../../protocol/messages.js';
import type { Schema } from '../schema.js';
import type { InvocationRepo, RunKey } from '../store.js';
import { runKeyText } from './invocation-rows.js';
import { prepared } from './prepared.js';
import { inTransaction, type RunRows } from './run-transaction.js';

/** A run's stored output: chunks appended by offset, read back as tails and ranges. */

/** The output statements of every agent report and result page, compiled once per store. */
export function outputQueries() {
  return {
    // Each run's chunks from `from` up to `to`.
    chunks: prepared(
      (db, ranges: { invokeId: string; instanceId: string; execution: number; from: number; to: number }[]) =>
        db
          .selectFrom('output_chunks')
          .select(['invoke_id', 'instance_id', 'execution', 'byte_offset', 'data'])
          .where((eb) =>
            eb.or(
              ranges.map((range) =>
                eb.and([
                  eb('invoke_id', '=', range.invokeId),
                  eb('instance_id', '=', range.instanceId),
                  eb('execution', '=', range.execution),
                  eb('byte_offset', '>=', range.from),
                  eb('byte_offset', '<', range.to),
                ]),
              ),
            ),
          )
          .orderBy('byte_offset'),
    ),
  };
}

export type OutputQueries = ReturnType<typeof outputQueries>;

type OutputMethods = Pick<InvocationRepo, 'appendOutput' | 'outputTail' | 'outputTails' | 'outputRange'>;

/** The output half of the repo; `rows` says how the run's row is read and written (see run-transaction). */
export function runOutput(db: Kysely<Schema>, queries: OutputQueries, rows: RunRows): OutputMethods {
  return {
    async appendOutput(key, offset, data, maxBytes) {
      return inTransaction(db, async (trx) => {
        const row = await rows.readForOutput(trx, key);
        if (!row) return 0;
        const stored = Number(row.output_bytes);
        const place = placeChunk(
          { storedBytes: stored, droppedBytes: Number(row.dropped_bytes) },
          offset,
          data.length,
          maxBytes,
        );
        if (!place) return stored;
        const kept = data.subarray(place.from, place.to);
        if (kept.length > 0) {
          await rows.insertChunk(trx, key, {
            invoke_id: key.invokeId,
            instance_id: key.instanceId,
            execution: key.execution,
            byte_offset: stored,
            data: kept,
          });
        }
        await rows.write(trx, key, row.seq, { output_bytes: stored + kept.length }, place.droppedBytes);
        return stored + kept.length;
      });
    },

    async outputTail(key, maxBytes) {
      const run = await db
        .selectFrom('invocation_instances')
        .select('output_bytes')
        .where('invoke_id', '=', key.invokeId)
        .where('instance_id', '=', key.instanceId)
        .where('execution', '=', key.execution)
        .executeTakeFirst();
      const total = Number(run?.output_bytes ?? 0);
      if (total === 0) return Buffer.alloc(0);
      const chunks = await chunksOf(db, key)
        .select(['byte_offset', 'data'])
        .where('byte_offset', '>=', tailStart(total, maxBytes))
        .orderBy('byte_offset')
        .execute();
      return lastBytes(
        chunks.map((chunk) => Buffer.from(chunk.data)),
        maxBytes,
      );
    },

    async outputTails(runs, maxBytes) {
      const withOutput = runs.filter((run) => run.outputBytes > 0);
      if (withOutput.length === 0) return runs.map(() => Buffer.alloc(0));
      // One query for the page: each run's chunks from where its tail can start up to what its row
      // counted (output appended since is not part of the row being shown).
      const { rows: chunks } = await queries.chunks(
        db,
        withOutput.map((run) => ({
          invokeId: run.invokeId,
          instanceId: run.instanceId,
          execution: run.execution,
          from: tailStart(run.outputBytes, maxBytes),
          to: run.outputBytes,
        })),
      );
      const byRun = new Map<string, Buffer[]>();
      for (const chunk of chunks) {
        const text = runKeyText(chunk.invoke_id, chunk.instance_id, Number(chunk.execution));
        const list = byRun.get(text) ?? [];
        list.push(Buffer.from(chunk.data));
        byRun.set(text, list);
      }
      return runs.map((run) =>
        lastBytes(byRun.get(runKeyText(run.invokeId, run.instanceId, run.execution)) ?? [], maxBytes),
      );
    },

    async outputRange(key, offset, maxBytes) {
      // The chunk holding `offset` is the last one starting at or before it (chunks are contiguous).
      const first = await chunksOf(db, key)
        .select(({ fn }) => fn.max('byte_offset').as('start'))
        .where('byte_offset', '<=', offset)
        .executeTakeFirst();
      if (first?.start === null || first?.start === undefined) return Buffer.alloc(0);
      const start = Number(first.start);
      const chunks = await chunksOf(db, key)
        .select(['byte_offset', 'data'])
        .where('byte_offset', '>=', start)
        .where('byte_offset', '<', offset + maxBytes)
        .orderBy('byte_offset')
        .execute();
      const bytes = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.data)));
      return bytes.subarray(offset - start, offset - start + maxBytes);
    },
  };
}

/** The chunks of one run. */
const chunksOf = (db: Kysely<Schema>, key: RunKey) =>
  db
    .selectFrom('output_chunks')
    .where('invoke_id', '=', key.invokeId)
    .where('instance_id', '=', key.instanceId)
    .where('execution', '=', key.execution);

// A chunk is at most one protocol chunk long, so a tail starts in a chunk beginning at most that far before it.
const tailStart = (totalBytes: number, maxBytes: number): number =>
  Math.max(0, totalBytes - maxBytes - maxOutputChunkBytes);

/** The last `maxBytes` of contiguous chunks. */
function lastBytes(chunks: readonly Buffer[], maxBytes: number): Buffer {
  const [only] = chunks;
  const joined = chunks.length === 1 && only ? only : Buffer.concat(chunks);
  return joined.subarray(Math.max(0, joined.length - maxBytes));
}
