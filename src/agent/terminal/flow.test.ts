import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeFrame, type Frame, frameType, sessionLimits } from '../../protocol/session-frames.js';
import { InboundFlow, maxDataFrameBytes, OutboundFlow } from './flow.js';
import type { FrameLink } from './link.js';

function recordingLink(): FrameLink & { frames: Frame[] } {
  const frames: Frame[] = [];
  return { frames, send: (bytes) => frames.push(decodeFrame(bytes)!), close: () => undefined };
}

const dataBytes = (frames: Frame[]) =>
  frames.filter((f) => f.type === frameType.data).reduce((sum, f) => sum + f.payload.byteLength, 0);

describe('OutboundFlow', () => {
  it('sends at most a window unacknowledged, in frames of at most 32 KiB, and the rest on acks', async () => {
    const source = new PassThrough();
    const link = recordingLink();
    const flow = new OutboundFlow(3, source, link);
    source.end(Buffer.alloc(600 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    expect(dataBytes(link.frames)).toBe(sessionLimits.windowBytes);
    expect(link.frames.every((f) => f.stream === 3 && f.payload.byteLength <= maxDataFrameBytes)).toBe(true);
    let drained = false;
    void flow.drained.then(() => {
      drained = true;
    });
    for (let acked = 0; acked < 600 * 1024; ) {
      const inFlight = dataBytes(link.frames) - acked;
      expect(inFlight).toBeLessThanOrEqual(sessionLimits.windowBytes);
      expect(flow.acked(inFlight)).toBe(true);
      acked += inFlight;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(dataBytes(link.frames)).toBe(600 * 1024);
    expect(drained).toBe(true);
  });

  it('refuses an ack for more than was sent', () => {
    const flow = new OutboundFlow(0, new PassThrough(), recordingLink());
    expect(flow.acked(1)).toBe(false);
  });
});

describe('InboundFlow', () => {
  it('acks bytes once written, and refuses bytes past the window', () => {
    const written: (() => void)[] = [];
    // A sink that completes writes only when told: the window fills.
    const sink = new Writable({
      highWaterMark: 1,
      write: (_chunk, _encoding, done) => written.push(done),
    });
    const link = recordingLink();
    const flow = new InboundFlow(1, sink, link);
    const frame = Buffer.alloc(sessionLimits.maxPayloadBytes);
    for (let n = 0; n < sessionLimits.windowBytes / frame.byteLength; n++)
      expect(flow.receive(frame)).toBe(true);
    expect(flow.receive(Buffer.alloc(1))).toBe(false);
    expect(link.frames).toHaveLength(0);
    written.shift()?.();
    expect(link.frames.map((f) => f.type)).toEqual([frameType.ack]);
    expect(flow.receive(frame)).toBe(true);
  });
});
