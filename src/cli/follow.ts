import { createLogUpdate } from 'log-update';
import { followInvocation } from '../client/stream.js';
import type { ClientConfig } from './client-config.js';
import type { InvocationView, OutputLine } from './invocation-view.js';
import { type Presenter, renderTable, statusText } from './presenter.js';

export interface FollowOptions {
  /** Print script output as it arrives (run, output --follow); results --follow shows statuses only. */
  readonly showOutput: boolean;
  /** One instance only. */
  readonly instanceId?: string | undefined;
}

/** Where a follower's updates go: a live terminal region, plain lines, or nowhere until the end (--json). */
interface Screen {
  lines(lines: readonly OutputLine[]): void;
  changed(): void;
  close(): void;
}

const barWidth = 24;

function progress(p: Presenter, view: InvocationView, startedMs: number): string {
  const filled = view.total === 0 ? 0 : Math.round((view.done / view.total) * barWidth);
  const bar = p.colors.green('█'.repeat(filled)) + p.colors.dim('░'.repeat(barWidth - filled));
  const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  return `${bar} ${view.done}/${view.total} done  ${seconds}s`;
}

export function statusRows(p: Presenter, view: InvocationView) {
  return view
    .rows()
    .map((run) => [
      run.instanceId,
      statusText(p, run.status),
      run.exitCode,
      [run.errorCode, run.errorInfo].filter(Boolean).join(': '),
    ]);
}

const statusHeadings = ['Instance', 'Status', 'Exit', 'Error'];

/** A terminal: output scrolls above, the status table and progress bar redraw below it. */
function liveScreen(p: Presenter, view: InvocationView, prefixed: () => boolean): Screen {
  // A live screen is drawn on a terminal only (`p.live`), and a terminal's stream is a WriteStream.
  const region = createLogUpdate(p.out as NodeJS.WriteStream, { showCursor: true });
  const startedMs = Date.now();
  const draw = () =>
    region(`${renderTable(p, statusHeadings, statusRows(p, view))}\n${progress(p, view, startedMs)}`);
  const ticker = setInterval(draw, 200);
  return {
    lines(lines) {
      region.clear();
      for (const line of lines) p.out.write(`${prefix(p, line, prefixed())}${line.text}\n`);
      draw();
    },
    changed: draw,
    close() {
      clearInterval(ticker);
      draw();
      region.done();
    },
  };
}

/** A pipe or a file: output lines as they come, each run's end on stderr. */
function plainScreen(
  p: Presenter,
  view: InvocationView,
  prefixed: () => boolean,
  showStatus: boolean,
): Screen {
  const reported = new Set<string>();
  return {
    lines(lines) {
      for (const line of lines) p.out.write(`${prefix(p, line, prefixed())}${line.text}\n`);
    },
    changed() {
      for (const run of view.rows()) {
        const key = `${run.instanceId}/${run.status}`;
        if (!showStatus || reported.has(key)) continue;
        reported.add(key);
        p.err.write(`${run.instanceId} ${run.status}\n`);
      }
    },
    close() {},
  };
}

const prefix = (p: Presenter, line: OutputLine, prefixed: boolean): string =>
  prefixed ? `${p.colors.cyan(`[${line.instanceId}]`)} ` : '';

/**
 * Follows an invocation through the live-output stream until every run is final, showing it the way
 * the presenter says; returns the view with every status and the output received.
 */
export async function follow(
  config: ClientConfig,
  p: Presenter,
  invokeId: string,
  view: InvocationView,
  options: FollowOptions,
): Promise<InvocationView> {
  const prefixed = () => view.total > 1;
  const screen: Screen = p.json
    ? { lines() {}, changed() {}, close() {} }
    : p.live
      ? liveScreen(p, view, prefixed)
      : plainScreen(p, view, prefixed, !options.showOutput);
  try {
    for await (const event of followInvocation(config, { invokeId, instanceId: options.instanceId })) {
      if (event.type === 'status') {
        const lines = view.status(event.data);
        if (options.showOutput) screen.lines(lines);
        screen.changed();
      } else if (event.type === 'output') {
        const lines = view.output(event.data);
        if (options.showOutput && lines.length > 0) screen.lines(lines);
      } else if (event.type === 'end') {
        break;
      }
    }
  } finally {
    screen.close();
  }
  return view;
}

/** The final summary: a table on stderr, so stdout carries only the scripts' output. */
export function printSummary(p: Presenter, view: InvocationView, invokeId: string): void {
  const failed = view.rows().filter((run) => run.status !== 'Success');
  const line = `${invokeId}: ${view.rows().length - failed.length}/${view.total} succeeded`;
  if (p.live) return void p.err.write(`${failed.length === 0 ? p.colors.green(line) : p.colors.red(line)}\n`);
  for (const run of view.rows()) {
    const why = [run.errorCode, run.errorInfo].filter(Boolean).join(': ');
    const exit = run.exitCode === undefined ? '' : ` exit ${run.exitCode}`;
    p.err.write(`${run.instanceId} ${run.status}${exit}${why ? ` ${why}` : ''}\n`);
  }
  p.err.write(`${line}\n`);
}
