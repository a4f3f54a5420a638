import { createHash } from 'node:crypto';
import type { PostgresCursor, PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { errnoCode } from '../guards.js';
import { operationOfSql } from './sql/telemetry.js';
import type { QueryListener } from './store.js';

/** Statement texts that get a name; past them, new texts run unnamed (`namedStatementPool`). */
export const maxNamedStatements = 256;

// Transaction control has nothing to plan.
const transactionControl = /^\s*(begin|commit|rollback|savepoint|release)\b/i;

/** Texts seen once, remembered to name them on their second run; forgotten all at once when full. */
const maxSeenOnce = 1_024;

/** Longer texts (a batch of many rows) run unnamed and are not remembered: 16 MiB of texts at most. */
export const maxNamedTextChars = 16 * 1024;

/**
 * The names statements are prepared under, one per statement text, the same in every process (a
 * hash of the text), at most `max` of them. A text is named on its second run, so one-off texts (a
 * batch of an unusual size) do not use up the names. A text PostgreSQL refused to run under its
 * name runs unnamed from then on.
 */
export class StatementNames {
  private readonly names = new Map<string, string | undefined>();
  private readonly seenOnce = new Set<string>();

  constructor(private readonly max = maxNamedStatements) {}

  /** The name for `text`, or undefined: run it unnamed. */
  of(text: string): string | undefined {
    if (this.names.has(text)) return this.names.get(text);
    if (this.names.size >= this.max || text.length > maxNamedTextChars || transactionControl.test(text)) {
      return undefined;
    }
    if (!this.seenOnce.has(text)) {
      if (this.seenOnce.size >= maxSeenOnce) this.seenOnce.clear();
      this.seenOnce.add(text);
      return undefined;
    }
    this.seenOnce.delete(text);
    const name = `oa_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    this.names.set(text, name);
    return name;
  }

  /** From now on `text` runs unnamed. */
  unname(text: string): void {
    this.names.set(text, undefined);
  }

  get size(): number {
    return this.names.size;
  }
}

/**
 * Refusals of a named statement that running it unnamed gets past: 0A000, "cached plan must not
 * change result type" (a prepared `SELECT *` after another node's ALTER TABLE); 26000, "prepared
 * statement does not exist" (a pooler in transaction mode sent it to another server connection).
 */
const refusedName = (error: unknown) => ['0A000', '26000'].includes(errnoCode(error) ?? '');

/**
 * The pool as Kysely sees it, each statement sent as a named prepared statement. Sent unnamed,
 * PostgreSQL parses and plans a statement every time it runs: InvokeCommand cost the database
 * 3.6 ms of CPU a call that way, 2.1 ms named (`npm run bench -- --cluster-only`). node-postgres
 * prepares a name once per connection and then only binds and executes it; the statements come
 * from a fixed set of builders, and `names` bounds them anyway. With `onQuery`, each statement is
 * timed from sent to answered, failed ones too (here rather than through Kysely's `log` option,
 * which adds two awaits to every statement).
 */
export function namedStatementPool(
  pool: pg.Pool,
  names = new StatementNames(),
  onQuery?: QueryListener,
): PostgresPool {
  return {
    async connect() {
      const client = await pool.connect();
      const run = async (text: string, values: unknown[]): Promise<pg.QueryResult> => {
        const name = names.of(text);
        if (name === undefined) return client.query(text, values);
        try {
          return await client.query({ name, text, values });
        } catch (error) {
          if (!refusedName(error)) throw error;
          names.unname(text);
          // Inside a transaction PostgreSQL refuses the retry too (the transaction is aborted):
          // the caller then sees the first error, once; the text runs unnamed from now on.
          return client.query(text, values).catch(() => {
            throw error;
          });
        }
      };
      const query = (text: string, parameters: readonly unknown[]): Promise<pg.QueryResult> => {
        if (!onQuery) return run(text, [...parameters]);
        const start = performance.now();
        const answered = () => onQuery(operationOfSql(text), (performance.now() - start) / 1000);
        const answer = run(text, [...parameters]);
        answer.then(answered, answered);
        return answer;
      };
      const named: PostgresPoolClient = {
        // Kysely types its client after node-postgres' (a cursor goes through untouched); one
        // implementation cannot spell both overloads, hence the cast.
        query: ((first: string | PostgresCursor<unknown>, parameters?: readonly unknown[]) =>
          typeof first === 'string'
            ? query(first, parameters ?? [])
            : client.query(first as unknown as pg.Submittable)) as unknown as PostgresPoolClient['query'],
        release: (destroy) => client.release(destroy),
      };
      return named;
    },
    end: () => pool.end(),
  };
}
