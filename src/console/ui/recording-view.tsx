import { useEffect, useRef, useState } from 'preact/hooks';
import { call } from './api.js';
import { base64ToBytes } from './bytes.js';
import { ErrorNote } from './components.js';
import type { Session } from './session.js';
import type { DescribeTerminalSessionRecordingResponse } from './wire.js';
import { openXtermScreen, type XtermScreen } from './xterm-screen.js';

// 256 KiB a call: a full 16 MiB recording in 64 calls, each page quick to write.
const pageBytes = 256 * 1024;
// A live session's recording grows in chunks written at most 100 ms apart; re-read this often.
const livePollMs = 1000;

/**
 * A session's recorded output (DescribeTerminalSessionRecording, page after page) replayed in a
 * read-only xterm.js terminal; a session still open is followed until its recording is complete.
 */
export function RecordingView({
  session,
  sessionId,
}: {
  readonly session: Session;
  readonly sessionId: string;
}) {
  const screenRef = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<{ bytes: number; complete: boolean; error?: unknown }>({
    bytes: 0,
    complete: false,
  });

  useEffect(() => {
    const container = screenRef.current;
    if (!container) return;
    let screen: XtermScreen | undefined;
    let left = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const pause = (ms: number) => new Promise((done) => (timer = setTimeout(done, ms)));

    const follow = async () => {
      const opened = await openXtermScreen(container, { readOnly: true });
      if (left) {
        opened.dispose();
        return;
      }
      screen = opened;
      const { terminal } = opened;
      let offset = 0;
      while (!left) {
        const page = await call<DescribeTerminalSessionRecordingResponse>(
          session,
          'DescribeTerminalSessionRecording',
          {
            SessionId: sessionId,
            Offset: offset,
            MaxBytes: pageBytes,
          },
        );
        const bytes = base64ToBytes(page.Data);
        // The next page is asked for once this one is on screen: one page in memory at a time.
        if (bytes.byteLength > 0 && !left) await new Promise<void>((done) => terminal.write(bytes, done));
        if (left) return;
        setState({ bytes: page.NextOffset, complete: page.Complete });
        if (page.Complete) return;
        if (bytes.byteLength === 0) await pause(livePollMs);
        offset = page.NextOffset;
      }
    };
    follow().catch((error: unknown) => {
      if (!left) setState((previous) => ({ ...previous, error }));
    });
    return () => {
      left = true;
      clearTimeout(timer);
      screen?.dispose();
    };
  }, [session, sessionId]);

  return (
    <section class="terminal" aria-label="Recording">
      <div class="terminal-head">
        <p class="terminal-status" role="status" data-testid="recording-status">
          {state.complete
            ? `Complete: ${state.bytes.toLocaleString()} bytes`
            : `Reading… ${state.bytes.toLocaleString()} bytes so far`}
        </p>
      </div>
      <ErrorNote error={state.error} />
      <div class="terminal-screen" ref={screenRef} data-testid="recording-screen" />
    </section>
  );
}
