import { describe, expect, it } from 'vitest';
import { hrefOf, parseRoute, type Route, sectionOf } from './router.js';

describe('console routes', () => {
  const routes: Route[] = [
    { page: 'instances' },
    { page: 'instance', instanceId: 'mi-0123456789abcdef' },
    { page: 'commands' },
    { page: 'invocations' },
    { page: 'invocation', invokeId: 't-hz01234' },
    { page: 'files' },
    { page: 'file', invokeId: 'f-hz01234' },
    { page: 'sessions' },
    { page: 'sessions', instanceId: 'mi-0123456789abcdef' },
    { page: 'session', sessionId: 's-0123456789abcdef0123456789abcdef' },
    { page: 'audit' },
  ];

  it.each(routes)('reads back the address it writes: %o', (route) => {
    expect(parseRoute(hrefOf(route))).toEqual(route);
  });

  it("keeps the sessions filter in the fragment's query", () => {
    expect(hrefOf({ page: 'sessions', instanceId: 'mi-1' })).toBe('#/sessions?instance=mi-1');
    expect(parseRoute('#/sessions?instance=')).toEqual({ page: 'sessions' });
  });

  it('puts an instance and a session under their sections', () => {
    expect(sectionOf({ page: 'instance', instanceId: 'mi-1' })).toBe('instances');
    expect(sectionOf({ page: 'session', sessionId: 's-1' })).toBe('sessions');
  });
});
