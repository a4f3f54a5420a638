import { isRecord } from '../guards.js';

/**
 * The frames of a terminal session (docs/terminal-sessions.md), the same on both legs (client ⇄
 * server and server ⇄ agent), so the server relays them as they are. One binary WebSocket message
 * is one frame: a type byte, a 32-bit stream id (0: the terminal; 1…: port-forwarded connections),
 * then the payload.
 */
export const frameType = {
  /** Bytes of a stream: the terminal's input or output, a forwarded connection's bytes. */
  data: 0,
  /** Credit returned: a u32 count of a stream's data bytes the receiver has passed on. */
  ack: 1,
  /** Port forwarding: the client opens a connection; the agent answers the same frame once connected. */
  open: 2,
  /** No more data from this side of the stream (a TCP half-close; both sides: the stream ended). */
  close: 3,
  /** The terminal's size: u16 columns, u16 rows (client → agent, stream 0). */
  resize: 4,
  /** The shell ended: JSON `{ exitCode: number | null, signal?: string }` (agent → client, stream 0). */
  exit: 5,
  /** A stream (or, on stream 0, the session) failed: JSON `{ code, message }`. */
  error: 6,
} as const;

export type FrameType = (typeof frameType)[keyof typeof frameType];

export const sessionLimits = {
  /** Bytes of data a sender may have in flight, unacknowledged, per stream and direction. */
  windowBytes: 256 * 1024,
  /** The largest payload of one frame. */
  maxPayloadBytes: 64 * 1024,
  /** Port-forwarded connections open at once in one session. */
  maxStreams: 32,
  /** The largest column or row count a resize may ask for. */
  maxTerminalSide: 1000,
} as const;

export const frameHeaderBytes = 5;

export interface Frame {
  readonly type: FrameType;
  readonly stream: number;
  readonly payload: Uint8Array;
}

const knownTypes = new Set<number>(Object.values(frameType));
const isFrameType = (type: number): type is FrameType => knownTypes.has(type);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One frame's bytes. */
export function encodeFrame(
  type: FrameType,
  stream: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const bytes = new Uint8Array(frameHeaderBytes + payload.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setUint32(1, stream);
  bytes.set(payload, frameHeaderBytes);
  return bytes;
}

/** The frame in `bytes`, or undefined when they are not one (unknown type, short, oversized). */
export function decodeFrame(bytes: Uint8Array): Frame | undefined {
  if (
    bytes.byteLength < frameHeaderBytes ||
    bytes.byteLength > frameHeaderBytes + sessionLimits.maxPayloadBytes
  ) {
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint8(0);
  if (!isFrameType(type)) return undefined;
  const frame = { type, stream: view.getUint32(1), payload: bytes.subarray(frameHeaderBytes) };
  return frameIsWellFormed(frame) ? frame : undefined;
}

function frameIsWellFormed(frame: Frame): boolean {
  switch (frame.type) {
    case frameType.ack:
      return frame.payload.byteLength === 4;
    case frameType.resize:
      return frame.stream === 0 && frame.payload.byteLength === 4;
    case frameType.open:
      return frame.stream !== 0;
    case frameType.exit:
      return frame.stream === 0;
    default:
      return true;
  }
}

export function dataFrame(stream: number, bytes: Uint8Array): Uint8Array {
  return encodeFrame(frameType.data, stream, bytes);
}

export function ackFrame(stream: number, bytes: number): Uint8Array {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, bytes);
  return encodeFrame(frameType.ack, stream, payload);
}

export function resizeFrame(columns: number, rows: number): Uint8Array {
  const payload = new Uint8Array(4);
  const view = new DataView(payload.buffer);
  view.setUint16(0, columns);
  view.setUint16(2, rows);
  return encodeFrame(frameType.resize, 0, payload);
}

export function jsonFrame(
  type: typeof frameType.exit | typeof frameType.error,
  stream: number,
  value: object,
): Uint8Array {
  return encodeFrame(type, stream, encoder.encode(JSON.stringify(value)));
}

/** The count an ack frame returns. */
export function ackedBytes(frame: Frame): number {
  return new DataView(frame.payload.buffer, frame.payload.byteOffset, 4).getUint32(0);
}

/** A resize frame's size, clamped to 1…maxTerminalSide. */
export function terminalSize(frame: Frame): { columns: number; rows: number } {
  const view = new DataView(frame.payload.buffer, frame.payload.byteOffset, 4);
  const clamp = (n: number) => Math.min(Math.max(n, 1), sessionLimits.maxTerminalSide);
  return { columns: clamp(view.getUint16(0)), rows: clamp(view.getUint16(2)) };
}

/** An exit or error frame's JSON, or undefined when it is not an object. */
export function frameJson(frame: Frame): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(decoder.decode(frame.payload));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Credit of one direction of one stream: the sender counts what it sent, the receiver's acks give
 * it back; nothing is sent past the window, so neither side nor the relay buffers more than that.
 */
export class SendWindow {
  private inFlight = 0;

  constructor(private readonly windowBytes: number = sessionLimits.windowBytes) {}

  /** How many bytes may be sent now. */
  get available(): number {
    return this.windowBytes - this.inFlight;
  }

  sent(bytes: number): void {
    this.inFlight += bytes;
  }

  /** False when the peer acknowledged more than was sent (a broken peer). */
  acked(bytes: number): boolean {
    if (bytes > this.inFlight) return false;
    this.inFlight -= bytes;
    return true;
  }
}
