import { describe, expect, it } from 'vitest';
import { SseParser } from './stream.js';

describe('the Server-Sent Events parser', () => {
  it('parses named events, ids that persist, comments, and events split anywhere', () => {
    const wire =
      ': keep-alive\n\nevent: status\ndata: {"a":1}\n\nevent: output\nid: c1\ndata: {"b":2}\n\n' +
      'event: status\ndata: {"c":3}\n\ndata: one\ndata:two\n\n';
    const expected = [
      { event: 'status', data: '{"a":1}', lastEventId: '' },
      { event: 'output', data: '{"b":2}', lastEventId: 'c1' },
      { event: 'status', data: '{"c":3}', lastEventId: 'c1' },
      { event: 'message', data: 'one\ntwo', lastEventId: 'c1' },
    ];
    const whole = new SseParser().push(wire);
    expect(whole).toEqual(expected);
    for (const size of [1, 2, 3, 7]) {
      const parser = new SseParser();
      const got = [];
      for (let i = 0; i < wire.length; i += size) got.push(...parser.push(wire.slice(i, i + size)));
      expect(got, `chunks of ${size}`).toEqual(expected);
    }
  });

  it('accepts CRLF and CR line ends, even split between chunks, and drops events without data', () => {
    const parser = new SseParser();
    const got = [
      ...parser.push('event: end\r'),
      ...parser.push('\ndata: x\r\n\r'),
      ...parser.push('\nevent: lonely\r\revent: status\rdata: y\r\r\n'),
    ];
    expect(got).toEqual([
      { event: 'end', data: 'x', lastEventId: '' },
      { event: 'status', data: 'y', lastEventId: '' },
    ]);
  });
});
