import {
  ackedBytes,
  ackFrame,
  dataFrame,
  decodeFrame,
  frameJson,
  frameType,
  resizeFrame,
  SendWindow,
  sessionLimits,
} from '../../protocol/session-frames.js';

/** How a shell ended, from the agent's exit frame. */
export interface ShellExit {
  readonly exitCode: number | null;
  readonly signal?: string;
}

export interface TerminalEvents {
  onOpen(): void;
  /** Terminal output; call `rendered` once it is on screen, which returns the window's credit. */
  onOutput(bytes: Uint8Array, rendered: () => void): void;
  onExit(exit: ShellExit): void;
  onSessionError(code: string, message: string): void;
  /** The socket closed: code 1000 with the session's ClosedReason, anything else when it broke. */
  onClosed(code: number, reason: string): void;
}

export interface TerminalConnection {
  /** Typed bytes; held back while the agent has a window's worth unacknowledged. */
  send(input: Uint8Array): void;
  resize(columns: number, rows: number): void;
  /** Closing the socket ends the session (ClosedReason ClientClosed). */
  close(): void;
}

/**
 * One terminal session's WebSocket, in the page (docs/terminal-sessions.md): the token travels as
 * the query parameter, as a browser cannot set headers on a WebSocket; frames on stream 0 only.
 */
export function connectTerminal(
  webSocketUrl: string,
  securityToken: string,
  events: TerminalEvents,
): TerminalConnection {
  const socket = new WebSocket(`${webSocketUrl}?token=${encodeURIComponent(securityToken)}`);
  socket.binaryType = 'arraybuffer';
  const credit = new SendWindow();
  const pending: Uint8Array[] = [];

  const flush = () => {
    while (pending.length > 0 && socket.readyState === WebSocket.OPEN) {
      const next = pending[0]!;
      const room = Math.min(credit.available, sessionLimits.maxPayloadBytes);
      if (room <= 0) return;
      const chunk = next.subarray(0, room);
      socket.send(dataFrame(0, chunk));
      credit.sent(chunk.byteLength);
      if (chunk.byteLength === next.byteLength) pending.shift();
      else pending[0] = next.subarray(room);
    }
  };
  const sendFrame = (frame: Uint8Array) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(frame);
  };

  socket.onopen = () => {
    events.onOpen();
    flush();
  };
  socket.onmessage = (message: MessageEvent) => {
    if (!(message.data instanceof ArrayBuffer)) return;
    const frame = decodeFrame(new Uint8Array(message.data));
    if (frame?.stream !== 0) return;
    switch (frame.type) {
      case frameType.data: {
        const bytes = frame.payload.byteLength;
        events.onOutput(frame.payload, () => sendFrame(ackFrame(0, bytes)));
        break;
      }
      case frameType.ack:
        credit.acked(ackedBytes(frame));
        flush();
        break;
      case frameType.exit: {
        const json = frameJson(frame);
        const exitCode = typeof json?.exitCode === 'number' ? json.exitCode : null;
        const signal = typeof json?.signal === 'string' ? json.signal : undefined;
        events.onExit(signal === undefined ? { exitCode } : { exitCode, signal });
        break;
      }
      case frameType.error: {
        const json = frameJson(frame);
        events.onSessionError(String(json?.code ?? 'Error'), String(json?.message ?? ''));
        break;
      }
    }
  };
  socket.onclose = (event: CloseEvent) => events.onClosed(event.code, event.reason);

  return {
    send(input) {
      if (input.byteLength === 0) return;
      pending.push(input);
      flush();
    },
    resize(columns, rows) {
      const clamp = (n: number) => Math.min(Math.max(Math.floor(n), 1), sessionLimits.maxTerminalSide);
      sendFrame(resizeFrame(clamp(columns), clamp(rows)));
    },
    close() {
      if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN)
        socket.close(1000);
    },
  };
}
