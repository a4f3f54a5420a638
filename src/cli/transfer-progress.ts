/** The progress line of a file upload on a terminal: a bar, the share, the bytes and the speed. */

const barWidth = 24;

const mebibytes = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

export function transferProgressLine(receivedBytes: number, totalBytes: number, elapsedMs: number): string {
  const share = totalBytes === 0 ? 1 : Math.min(1, receivedBytes / totalBytes);
  const filled = Math.round(share * barWidth);
  const perSecond = elapsedMs > 0 ? (receivedBytes * 1000) / elapsedMs : 0;
  return (
    `${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)} ${Math.floor(share * 100)}%` +
    ` ${mebibytes(receivedBytes)}/${mebibytes(totalBytes)} MiB  ${mebibytes(perSecond)} MiB/s`
  );
}

/**
 * Redraws the line in place on `stream` (a terminal), at most every 100 ms and once at the end; on
 * anything else it draws nothing, so a pipe or a log file gets no control characters.
 */
export function transferProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  totalBytes: number,
  nowMs: () => number = Date.now,
): { update(receivedBytes: number): void; done(): void } {
  if (!stream.isTTY) return { update() {}, done() {} };
  const startedMs = nowMs();
  let drawnMs = -Infinity;
  let last = 0;
  const draw = () => stream.write(`\r${transferProgressLine(last, totalBytes, nowMs() - startedMs)}\u001b[K`);
  return {
    update(receivedBytes) {
      last = receivedBytes;
      if (nowMs() - drawnMs < 100 && receivedBytes < totalBytes) return;
      drawnMs = nowMs();
      draw();
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}
