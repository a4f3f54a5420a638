import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type * as Ws from 'ws';
import { SessionConnectError, type SessionEnd, TerminalSession } from '../client/terminal-session.js';
import { UserError } from './errors.js';
import type { Session } from './session.js';

// Required, not imported, like the agent's ws (agent/channel-ws.ts says why).
const { WebSocket } = createRequire(import.meta.url)('ws') as typeof Ws;

export interface StartedSession {
  readonly sessionId: string;
  readonly session: TerminalSession;
}

/** StartTerminalSession on one instance, then the session's socket, opened with its one-time token. */
export async function startTerminalSession(
  api: Session,
  instanceId: string,
  params: Readonly<Record<string, string | number | undefined>>,
): Promise<StartedSession> {
  const started = await api.call<{ SessionId: string; WebSocketUrl: string; SecurityToken: string }>(
    'StartTerminalSession',
    { 'InstanceId.1': instanceId, ...params },
  );
  try {
    return { sessionId: started.SessionId, session: await TerminalSession.open(WebSocket, started) };
  } catch (error) {
    // The session exists but its socket would not open (a refused token, an unreachable node):
    // like ssh failing to connect, 255.
    if (error instanceof SessionConnectError)
      throw new UserError(`${started.SessionId}: ${error.message}`, 255);
    throw error;
  }
}

/** How a session ended, for people: its ClosedReason, and the session's error when one came. */
export function endText(sessionId: string, end: SessionEnd): string {
  const error = end.error ? ` (${end.error.detail || end.error.code})` : '';
  return `session ${sessionId} ended: ${end.reason}${error}`;
}

/** The CLI's exit status for a shell's end, as a shell reports it: the code, or 128 + the signal. */
export function exitStatusOf(end: SessionEnd): number | undefined {
  if (!end.exit) return undefined;
  if (end.exit.exitCode !== null) return end.exit.exitCode;
  return signalStatus(end.exit.signal ?? '');
}

/** The exit status of a signal, as a shell reports it: 128 + its number (SIGINT 130). */
export function signalStatus(signal: string): number {
  const number: number | undefined = Reflect.get(constants.signals, signal);
  return 128 + (number ?? 1);
}
