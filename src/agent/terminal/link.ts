import type { Frame } from '../../protocol/session-frames.js';

/** The close codes of an agent's session socket (docs/terminal-sessions.md). */
export const sessionCloseCodes = {
  /** The session ended as it should: the shell exited, or the agent refused it with an `error` frame. */
  normal: 1000,
  /** The agent is stopping. */
  goingAway: 1001,
  /** The peer sent a malformed frame or data past its window (`ClosedReason` `ProtocolError`). */
  protocolError: 4400,
} as const;

/** One session's socket as a session's service sees it: frames out, and the end. */
export interface FrameLink {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** What serves one session (a shell, or forwarded connections): frames in, and the end. */
export interface SessionService {
  receive(frame: Frame): void;
  /** The socket closed: stop everything the session started (resolves once it is gone). */
  end(): Promise<void>;
}

/** Cuts the session off: the peer broke the protocol. */
export function protocolError(link: FrameLink): void {
  link.close(sessionCloseCodes.protocolError, 'ProtocolError');
}
