import { describe, expect, it } from 'vitest';
import { ApiError } from '../domain/errors.js';
import { errorBody, hostIdOf, rawErrorResponse, renderError } from './error-response.js';

const context = { requestId: 'R-1', host: 'ecs.example.test:8080' };

describe('the error body', () => {
  it("has Alibaba's fields in Alibaba's order, HostId being the Host the client addressed", () => {
    const body = errorBody(new ApiError('InvalidAction.NotFound', 'No operation named X.'), context);
    expect(Object.keys(body)).toEqual(['RequestId', 'HostId', 'Code', 'Message', 'Recommend']);
    expect(body).toMatchObject({
      RequestId: 'R-1',
      HostId: 'ecs.example.test:8080',
      Code: 'InvalidAction.NotFound',
      Message: expect.stringMatching(/ No operation named X\.$/),
    });
  });

  it('keeps HostId to printable ASCII and 255 characters, and names the server when there is no Host', () => {
    expect(hostIdOf('evil\r\nhost\u00e9 name')).toBe('evilhostname');
    expect(hostIdOf('a'.repeat(300))).toBe('a'.repeat(255));
    expect(hostIdOf(undefined)).toBe('openassist');
    expect(hostIdOf(' \t')).toBe('openassist');
  });

  it('renders JSON, or XML under <Error> with exactly the content type the client cores parse', () => {
    const error = new ApiError('MissingParameter');
    const json = renderError(error, context);
    expect(json.status).toBe(400);
    expect(json.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(json.text)).toEqual(errorBody(error, context));

    const xml = renderError(error, context, 'XML');
    expect(xml.status).toBe(400);
    expect(xml.type).toBe('text/xml;charset=utf-8');
    expect(xml.text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><Error><RequestId>R-1<\/RequestId><HostId>ecs.example.test:8080<\/HostId><Code>MissingParameter<\/Code><Message>.+<\/Message><Recommend>.*<\/Recommend><\/Error>$/,
    );
  });

  it('makes a whole HTTP response for a raw socket: status line, exact length, extra headers, closed', () => {
    const raw = rawErrorResponse(new ApiError('Throttling', 'retry in 7 s.'), context, {
      'Retry-After': '7',
    });
    const [head, body] = raw.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 429 Too Many Requests');
    expect(lines.slice(1)).toEqual([
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body!)}`,
      'Connection: close',
      'Retry-After: 7',
    ]);
    expect(JSON.parse(body!)).toMatchObject({
      RequestId: 'R-1',
      HostId: 'ecs.example.test:8080',
      Code: 'Throttling',
    });
  });
});
