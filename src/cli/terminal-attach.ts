import type { SessionEnd, TerminalSession } from '../client/terminal-session.js';
import { type EscapeState, scanInput } from './session-input.js';

/** How the local end of a shell ended. */
export interface Detached {
  readonly end: SessionEnd;
  /** The user typed `~.`. */
  readonly dropped: boolean;
  /** The signal that ended this process's side (SIGTERM, SIGHUP, or SIGINT from outside a terminal). */
  readonly signal?: NodeJS.Signals;
}

const endingSignals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Puts a terminal in raw mode (keys go out as typed, Ctrl-C as 0x03); the returned function restores it, also at exit. */
function rawMode(stdin: NodeJS.ReadStream): () => void {
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdin.setRawMode(false);
  };
  // Whatever ends the process (an error, process.exit), the user's terminal comes back cooked.
  process.once('exit', restore);
  return restore;
}

/**
 * Joins this process's terminal (or pipes) to the session's terminal until the session ends: input
 * out within the window, output in with its ack once written, the size at the start and on every
 * SIGWINCH; `~.` after a newline drops the session, as in ssh (only when typing on a terminal, so
 * piped bytes go through as they are).
 */
export async function attachTerminal(session: TerminalSession): Promise<Detached> {
  const { stdin, stdout } = process;
  const typing = Boolean(stdin.isTTY);
  const restore = rawMode(stdin);
  session.terminal.attach({
    data: (bytes, done) => stdout.write(bytes, () => done()),
    end: () => {},
    error: () => {},
  });
  const sendSize = () => {
    if (stdout.isTTY) session.resize(stdout.columns, stdout.rows);
  };
  sendSize();
  stdout.on('resize', sendSize);

  let lineState: EscapeState = 'lineStart';
  let dropped = false;
  let signal: NodeJS.Signals | undefined;
  const onInput = (chunk: Buffer) => {
    if (dropped) return;
    let bytes: Uint8Array = chunk;
    if (typing) {
      const scanned = scanInput(chunk, lineState);
      lineState = scanned.state;
      bytes = scanned.forward;
      dropped = scanned.disconnect;
    }
    if (bytes.byteLength > 0) {
      // Nothing more is read until the session has taken these: a paste waits for the window.
      stdin.pause();
      session.terminal.write(bytes).then(
        () => stdin.resume(),
        () => {},
      );
    }
    if (dropped) session.close();
  };
  const onEnd = () => session.terminal.end();
  const onSignal = (received: NodeJS.Signals) => {
    signal = received;
    restore();
    session.close();
  };
  stdin.on('data', onInput);
  stdin.on('end', onEnd);
  for (const name of endingSignals) process.on(name, onSignal);

  const end = await session.ended;
  stdin.off('data', onInput);
  stdin.off('end', onEnd);
  stdin.pause();
  stdout.off('resize', sendSize);
  for (const name of endingSignals) process.off(name, onSignal);
  restore();
  return { end, dropped, ...(signal && { signal }) };
}
