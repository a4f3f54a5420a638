import Table from 'cli-table3';
import picocolors from 'picocolors';
import type { Colors } from 'picocolors/types.js';
import type { TerminalEnvironment } from '../config.js';

/** How a verb prints: JSON for scripts, or tables for people, coloured only on a terminal. */
export interface Presenter {
  readonly json: boolean;
  readonly colors: Colors;
  /** stdout is a terminal: live views redraw in place. */
  readonly live: boolean;
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/** Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org). */
export const colorsWanted = (stream: { isTTY?: boolean }, terminal: TerminalEnvironment): boolean =>
  Boolean(stream.isTTY) && !terminal.noColor && !terminal.dumb;

export function presenter(options: { json?: boolean | undefined }, terminal: TerminalEnvironment): Presenter {
  const colors = colorsWanted(process.stdout, terminal);
  return {
    json: Boolean(options.json),
    colors: picocolors.createColors(colors),
    // A terminal of no size (a pty nobody sized) cannot hold a redrawn region: print lines instead.
    live: Boolean(process.stdout.isTTY) && (process.stdout.rows ?? 0) > 0 && !terminal.dumb,
    out: process.stdout,
    err: process.stderr,
  };
}

export function printJson(p: Presenter, value: unknown): void {
  p.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export type Cell = string | number | boolean | undefined | null;

/** A plain table: bold headings on a terminal, no colour codes otherwise. */
export function renderTable(
  p: Presenter,
  headings: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  const table = new Table({
    head: headings.map((heading) => p.colors.bold(heading)),
    style: { head: [], border: [], compact: true },
    wordWrap: true,
  });
  for (const row of rows)
    table.push(row.map((cell) => (cell === undefined || cell === null ? '' : String(cell))));
  return table.toString();
}

export function printTable(
  p: Presenter,
  headings: readonly string[],
  rows: readonly (readonly Cell[])[],
): void {
  if (rows.length === 0) {
    p.out.write(`${p.colors.dim('(none)')}\n`);
    return;
  }
  p.out.write(`${renderTable(p, headings, rows)}\n`);
}

const good = new Set(['Success', 'Finished', 'Active', 'true', 'Online', 'Connected']);
const bad = new Set([
  'Failed',
  'Error',
  'Invalid',
  'Timeout',
  'PartialFailed',
  'Inactive',
  'false',
  'Disconnected',
]);
const ended = new Set(['Stopped', 'Terminated', 'Cancelled', 'Aborted', 'Closed']);

/** A status word in its colour: green done, red failed, yellow in progress, grey stopped. */
export function statusText(p: Presenter, status: string): string {
  if (good.has(status)) return p.colors.green(status);
  if (bad.has(status)) return p.colors.red(status);
  if (ended.has(status)) return p.colors.gray(status);
  return p.colors.yellow(status);
}
