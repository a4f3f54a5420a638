import { useEffect, useRef, useState } from 'preact/hooks';
import { call, describeError } from './api.js';
import { ConfirmDialog } from './components.js';
import { hrefOf } from './router.js';
import type { Session } from './session.js';
import { connectTerminal, type ShellExit, type TerminalConnection } from './terminal-connection.js';
import type { StartTerminalSessionResponse } from './wire.js';
import { openXtermScreen } from './xterm-screen.js';

/** Where a terminal session stands, as its status line says it. */
type Phase =
  | { readonly kind: 'starting' }
  | { readonly kind: 'connecting' | 'connected'; readonly sessionId: string }
  | { readonly kind: 'ended'; readonly sessionId?: string; readonly summary: string };

/** `exit status 3`, `killed by SIGKILL`: the shell's end from its exit frame. */
export function describeExit(exit: ShellExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.exitCode === null ? 'no exit status' : `exit status ${exit.exitCode}`;
}

/** The socket's close as a person reads it: the session's ClosedReason, the shell's status, a failure. */
function endSummary(
  code: number,
  reason: string,
  exit: ShellExit | undefined,
  failure: string | undefined,
): string {
  // 1000 carries the ClosedReason; anything else is a connection lost or refused (an expired token).
  const why = code === 1000 && reason ? reason : `connection closed (code ${code})`;
  return [why, exit && describeExit(exit), failure].filter(Boolean).join(', ');
}

const encoder = new TextEncoder();

/**
 * A shell on one instance: StartTerminalSession, then the session's WebSocket with its token, keys
 * typed sent as they come, output written to xterm.js and acknowledged once rendered, the size sent
 * on open and whenever the view refits. Leaving the page closes the socket, which ends the session.
 */
export function TerminalView({
  session,
  instanceId,
  onEnded,
}: {
  readonly session: Session;
  readonly instanceId: string;
  readonly onEnded: () => void;
}) {
  const screenRef = useRef<HTMLDivElement>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'starting' });
  const [confirmingEnd, setConfirmingEnd] = useState(false);

  useEffect(() => {
    const container = screenRef.current;
    if (!container) return;
    const screen = openXtermScreen(container, { readOnly: false });
    const { terminal } = screen;
    let connection: TerminalConnection | undefined;
    let exit: ShellExit | undefined;
    let failure: string | undefined;
    let left = false;

    const connect = ({ SessionId, WebSocketUrl, SecurityToken }: StartTerminalSessionResponse) => {
      setPhase({ kind: 'connecting', sessionId: SessionId });
      const opened = connectTerminal(WebSocketUrl, SecurityToken, {
        onOpen() {
          setPhase({ kind: 'connected', sessionId: SessionId });
          opened.resize(terminal.cols, terminal.rows);
          terminal.focus();
        },
        onOutput: (bytes, rendered) => terminal.write(bytes, rendered),
        onExit(shellExit) {
          exit = shellExit;
        },
        onSessionError(code, message) {
          failure = message ? `${code}: ${message}` : code;
        },
        onClosed(code, reason) {
          terminal.options.disableStdin = true;
          terminal.options.cursorBlink = false;
          if (left) return;
          setPhase({ kind: 'ended', sessionId: SessionId, summary: endSummary(code, reason, exit, failure) });
          onEnded();
        },
      });
      terminal.onData((text) => opened.send(encoder.encode(text)));
      // Some mouse reports are raw bytes, one per character.
      terminal.onBinary((text) => opened.send(Uint8Array.from(text, (c) => c.charCodeAt(0))));
      terminal.onResize(({ cols, rows }) => opened.resize(cols, rows));
      connection = opened;
    };

    call<StartTerminalSessionResponse>(session, 'StartTerminalSession', { 'InstanceId.1': instanceId }).then(
      (started) => {
        if (left) {
          // The page was left while the session was being started: nobody will connect to it.
          call(session, 'EndTerminalSession', { SessionId: started.SessionId }).catch(() => undefined);
          return;
        }
        connect(started);
      },
      (error: unknown) => {
        if (left) return;
        setPhase({ kind: 'ended', summary: describeError(error) });
        onEnded();
      },
    );
    return () => {
      left = true;
      connection?.close();
      screen.dispose();
    };
  }, [session, instanceId]);

  const sessionId = phase.kind === 'starting' ? undefined : phase.sessionId;
  const live = phase.kind === 'connecting' || phase.kind === 'connected';
  return (
    <section class="terminal" aria-label={`Terminal on ${instanceId}`}>
      <div class="terminal-head">
        <p class="terminal-status" role="status" data-testid="terminal-status">
          <StatusLine phase={phase} />
        </p>
        {sessionId && (
          <a href={hrefOf({ page: 'session', sessionId })} class="id">
            {sessionId}
          </a>
        )}
        {live && (
          <button type="button" class="danger" onClick={() => setConfirmingEnd(true)}>
            End session
          </button>
        )}
      </div>
      <div class="terminal-screen" ref={screenRef} data-testid="terminal-screen" />
      {confirmingEnd && sessionId && (
        <ConfirmDialog
          title={
            <>
              End session <span class="id">{sessionId}</span>?
            </>
          }
          confirmLabel="End session"
          onConfirm={async () => {
            await call(session, 'EndTerminalSession', { SessionId: sessionId });
            setConfirmingEnd(false);
          }}
          onClose={() => setConfirmingEnd(false)}
        >
          <p>The shell and every process started from it are killed. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function StatusLine({ phase }: { readonly phase: Phase }) {
  switch (phase.kind) {
    case 'starting':
      return <>Starting a session…</>;
    case 'connecting':
      return <>Connecting…</>;
    case 'connected':
      return <>Connected</>;
    case 'ended':
      return <>Session ended: {phase.summary}</>;
  }
}
