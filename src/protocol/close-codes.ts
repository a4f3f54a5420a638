/**
 * The close codes of the agent channel (docs/agent-protocol.md), the one list both sides use.
 * 1000–1015 are the WebSocket standard's (RFC 6455 §7.4.1); 4000–4999 are for applications.
 */
export const closeCodes = {
  /** Either side is stopping (an agent stopping, a server shutting down). */
  goingAway: 1001,
  /** The agent sent a malformed frame, or a second `hello`. */
  malformed: 1008,
  /** The server could not store a `hello` or an event: the agent connects again and re-sends. */
  notStored: 1011,
  /** A newer connection of the same instance replaced this one. */
  replaced: 4000,
  /** The instance was deregistered: the agent must be registered again. */
  deregistered: 4001,
  /** No `hello` within the server's wait after the upgrade. */
  noHello: 4002,
  /** The `hello` named a newer protocol than the server speaks: the agent retries slowly. */
  protocolRefused: 4003,
} as const;

export type CloseCode = (typeof closeCodes)[keyof typeof closeCodes];
