import { type Compilable, type CompiledQuery, createQueryId, type Kysely, type QueryResult } from 'kysely';
import type { Schema } from '../schema.js';

type Scalar = string | number | bigint | boolean | null | Uint8Array;
/** A bound value, a list (an `in` list, rows to insert), or named values (a row, a filter). */
export type Argument = Scalar | readonly Argument[] | { readonly [name: string]: Argument | undefined };

interface Template {
  readonly sql: string;
  readonly query: CompiledQuery['query'];
  /** Where each bound value comes from: a place in the arguments, or a constant of the build. */
  readonly sources: readonly ((args: readonly Argument[]) => unknown)[];
}

// Shapes a query has compiled for, the oldest forgotten first: filters chosen by callers (which
// tags carry a value) could otherwise grow the cache without end.
export const maxPreparedShapes = 64;

// Stand-ins take the arguments' places only while a shape compiles; later calls' values are bound
// where they stood and never read for markers.
const marker = '\u0000argument:';

const isScalar = (value: Argument): value is Scalar =>
  value === null || typeof value !== 'object' || value instanceof Uint8Array;

const isList = (value: Argument): value is readonly Argument[] => Array.isArray(value);

type Named = { readonly [name: string]: Argument | undefined };

// Like Kysely's inserts and updates, a row leaves out the columns it holds no value for.
const valuesOf = (named: Named): [string, Argument][] =>
  Object.entries(named).flatMap(([name, value]) => (value === undefined ? [] : [[name, value]]));

/** The arguments with every scalar replaced by a marker naming its path (`0`, `1/3`, `2/name`). */
function standIn(value: Argument, path: string): Argument {
  if (isScalar(value)) return `${marker}${path}`;
  if (isList(value)) return value.map((item, i) => standIn(item, `${path}/${i}`));
  return Object.fromEntries(valuesOf(value).map(([name, item]) => [name, standIn(item, `${path}/${name}`)]));
}

/** What decides the SQL text: list lengths and which names hold a value (scalars never do). */
function shapeOf(value: Argument): string {
  if (isScalar(value)) return '';
  if (isList(value)) return `[${value.map(shapeOf).join(',')}]`;
  let shape = '{';
  for (const name of Object.keys(value)) {
    const item = value[name];
    if (item !== undefined) shape += `${name}${shapeOf(item)},`;
  }
  return `${shape}}`;
}

/** One step of a path into the arguments: an item of a list or a named value. */
function step(value: Argument | undefined, name: string): Argument | undefined {
  if (value === undefined || isScalar(value)) return undefined;
  return isList(value) ? value[Number(name)] : value[name];
}

function sourceOf(value: unknown): (args: readonly Argument[]) => unknown {
  if (typeof value !== 'string' || !value.startsWith(marker)) return () => value;
  const path = value.slice(marker.length).split('/');
  return (args) => path.reduce<Argument | undefined>(step, args);
}

/**
 * A query of fixed shape, built and compiled by Kysely once, then run with new values in the same
 * places. For the small queries of a hot request, building and compiling cost more CPU than the
 * database's own work. `build` must bind every argument as a value (`where(col, '=', arg)`,
 * `values(row)`, `sql\`${arg}\``); one that lands in SQL text is refused at its first call. The build
 * may branch on the shape (a list's length, whether a name holds a value) but never on a value
 * (`if (arg === 'x')`): each shape compiles once. It compiles for the dialect of the first database
 * it runs on (or a transaction of it): make one per store.
 */
export function prepared<A extends Argument[], R>(
  build: (db: Kysely<Schema>, ...args: A) => Compilable<R>,
): (on: Kysely<Schema>, ...args: A) => Promise<QueryResult<R>> {
  const templates = new Map<string, Template>();
  const queryId = createQueryId();

  function compile(on: Kysely<Schema>, args: A): Template {
    // The stand-ins take the arguments' places (a marker text where a number may stand): the build
    // only binds them, so it never sees that their types differ from A's.
    const standIns = args.map((arg, i) => standIn(arg, String(i))) as A;
    const compiled = build(on, ...standIns).compile();
    const bound = new Set(compiled.parameters);
    const expected = JSON.stringify(standIns).match(/\\u0000argument:[^"]*/g) ?? [];
    const unbound = expected.filter((text) => !bound.has(JSON.parse(`"${text}"`)));
    if (unbound.length > 0 || compiled.sql.includes(marker)) {
      throw new Error(`a prepared query must bind every argument as a value: ${compiled.sql}`);
    }
    return { sql: compiled.sql, query: compiled.query, sources: compiled.parameters.map(sourceOf) };
  }

  return async (on, ...args) => {
    const shape = args.every(isScalar) ? '' : args.map(shapeOf).join(';');
    let template = templates.get(shape);
    if (!template) {
      template = compile(on, args);
      if (templates.size >= maxPreparedShapes) templates.delete(templates.keys().next().value ?? '');
      templates.set(shape, template);
    }
    const parameters = template.sources.map((source) => source(args));
    return on.executeQuery<R>({ sql: template.sql, query: template.query, queryId, parameters });
  };
}
