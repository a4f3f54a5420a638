import { describe, expect, it } from 'vitest';
import {
  ackedBytes,
  ackFrame,
  dataFrame,
  decodeFrame,
  encodeFrame,
  frameJson,
  frameType,
  jsonFrame,
  resizeFrame,
  SendWindow,
  sessionLimits,
  terminalSize,
} from './session-frames.js';

describe('session frames', () => {
  it('round-trips each kind', () => {
    const data = decodeFrame(dataFrame(7, new TextEncoder().encode('hi')));
    expect(data).toMatchObject({ type: frameType.data, stream: 7 });
    expect(new TextDecoder().decode(data?.payload)).toBe('hi');
    const ack = decodeFrame(ackFrame(3, 70_000));
    expect(ack && ackedBytes(ack)).toBe(70_000);
    const resize = decodeFrame(resizeFrame(132, 43));
    expect(resize && terminalSize(resize)).toEqual({ columns: 132, rows: 43 });
    const exit = decodeFrame(jsonFrame(frameType.exit, 0, { exitCode: 3 }));
    expect(exit && frameJson(exit)).toEqual({ exitCode: 3 });
  });

  it('refuses what is not a frame', () => {
    expect(decodeFrame(new Uint8Array([0, 0, 0]))).toBeUndefined();
    expect(decodeFrame(new Uint8Array([99, 0, 0, 0, 0]))).toBeUndefined();
    expect(decodeFrame(new Uint8Array(5 + sessionLimits.maxPayloadBytes + 1))).toBeUndefined();
    // An ack is 4 bytes; a resize and an exit belong to the terminal; an open to a connection.
    expect(decodeFrame(encodeFrame(frameType.ack, 0, new Uint8Array(3)))).toBeUndefined();
    expect(decodeFrame(encodeFrame(frameType.resize, 1, new Uint8Array(4)))).toBeUndefined();
    expect(decodeFrame(encodeFrame(frameType.exit, 2, new Uint8Array(2)))).toBeUndefined();
    expect(decodeFrame(encodeFrame(frameType.open, 0))).toBeUndefined();
    const notJson = decodeFrame(encodeFrame(frameType.error, 0, new TextEncoder().encode('{')));
    expect(notJson && frameJson(notJson)).toBeUndefined();
  });

  it('clamps a terminal size to 1…1000', () => {
    const zero = decodeFrame(resizeFrame(0, 65_535));
    expect(zero && terminalSize(zero)).toEqual({ columns: 1, rows: sessionLimits.maxTerminalSide });
  });

  it('counts a send window', () => {
    const window = new SendWindow(10);
    window.sent(8);
    expect(window.available).toBe(2);
    expect(window.acked(5)).toBe(true);
    expect(window.available).toBe(7);
    expect(window.acked(4)).toBe(false);
  });
});
