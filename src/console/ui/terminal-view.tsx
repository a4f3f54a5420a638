import type { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ExitStatus, type SessionEnd, TerminalSession } from '../../client/terminal-session.js';
import { call, describeError } from './api.js';
import { ConfirmDialog } from './components.js';
import { hrefOf } from './router.js';
import type { Session } from './session.js';
import type { StartTerminalSessionResponse } from './wire.js';
import { openXtermScreen, type XtermScreen } from './xterm-screen.js';

/** Where a terminal session stands, as its status line says it. */
type Phase =
  | { readonly kind: 'starting' }
  | { readonly kind: 'connecting' | 'connected'; readonly sessionId: string }
  | { readonly kind: 'ended'; readonly sessionId?: string; readonly summary: string };

/** `exit status 3`, `killed by SIGKILL`: the shell's end from its exit frame. */
export function describeExit(exit: ExitStatus): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.exitCode === null ? 'no exit status' : `exit status ${exit.exitCode}`;
}

/** How the session ended, as a person reads it: its ClosedReason, the shell's status, the agent's error. */
function endSummary(end: SessionEnd): string {
  return [end.reason, end.exit && describeExit(end.exit), end.error?.message].filter(Boolean).join(', ');
}

const encoder = new TextEncoder();

/**
 * A shell on one instance: StartTerminalSession, then the session's WebSocket with its token (the
 * shared session client), keys typed sent as they come, output written to xterm.js and acknowledged
 * once rendered, the size sent on open and whenever the view refits. Leaving the page closes the
 * socket, which ends the session.
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
    let screen: XtermScreen | undefined;
    let connected: TerminalSession | undefined;
    let left = false;

    const attach = (sessionId: string, opened: TerminalSession, terminal: Terminal) => {
      connected = opened;
      setPhase({ kind: 'connected', sessionId });
      opened.resize(terminal.cols, terminal.rows);
      opened.terminal.attach({
        data: (bytes, rendered) => {
          if (!left) terminal.write(bytes, rendered);
        },
        end: () => undefined,
        error: () => undefined,
      });
      // A write refused (the session ended, a paste past the queue's bound) changes nothing on screen.
      const send = (bytes: Uint8Array) => opened.terminal.write(bytes).catch(() => undefined);
      terminal.onData((text) => send(encoder.encode(text)));
      // Some mouse reports are raw bytes, one per character.
      terminal.onBinary((text) => send(Uint8Array.from(text, (c) => c.charCodeAt(0))));
      terminal.onResize(({ cols, rows }) => opened.resize(cols, rows));
      terminal.focus();
      void opened.ended.then((end) => finish(sessionId, endSummary(end)));
    };
    const finish = (sessionId: string | undefined, summary: string) => {
      if (left) return;
      if (screen) {
        screen.terminal.options.disableStdin = true;
        screen.terminal.options.cursorBlink = false;
      }
      setPhase({ kind: 'ended', ...(sessionId && { sessionId }), summary });
      onEnded();
    };

    const start = async () => {
      const opened = await openXtermScreen(container, { readOnly: false });
      if (left) {
        opened.dispose();
        return;
      }
      screen = opened;
      const started = await call<StartTerminalSessionResponse>(session, 'StartTerminalSession', {
        'InstanceId.1': instanceId,
      });
      const sessionId = started.SessionId;
      if (left) {
        // The page was left while the session was being started: nobody will connect to it.
        await call(session, 'EndTerminalSession', { SessionId: sessionId });
        return;
      }
      setPhase({ kind: 'connecting', sessionId });
      try {
        const connection = await TerminalSession.open(WebSocket, started);
        if (left) connection.close();
        else attach(sessionId, connection, opened.terminal);
      } catch (error) {
        finish(sessionId, describeError(error));
      }
    };
    start().catch((error: unknown) => finish(undefined, describeError(error)));
    return () => {
      left = true;
      connected?.close();
      screen?.dispose();
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
