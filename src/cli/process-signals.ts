/** Exit statuses of a process ended by a signal, as a shell reports them (128 + the signal number). */
const signalStatus: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Stops on SIGTERM/SIGINT: in-flight work finishes, the database closes, exit 0. A second signal
 * while that runs exits at once, so a shutdown that hangs never needs SIGKILL.
 */
export function stopOnSignals(close: () => Promise<void>): void {
  ignoreClosedOutput();
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`openassist: ${signal} again, exiting without finishing the shutdown`);
      process.exit(signalStatus[signal] ?? 1);
    }
    stopping = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`openassist: shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * A long-running process outlives the reader of its output (`up | tee log` when tee is gone): a write
 * to a closed pipe (EPIPE) loses that line instead of ending the server with an uncaught error.
 */
function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}
