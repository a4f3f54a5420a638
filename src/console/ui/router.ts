import { useEffect, useState } from 'preact/hooks';

/** Pages are addressed by the URL fragment, so the server serves one index.html for all of them. */
export type Route =
  | { readonly page: 'instances' }
  | { readonly page: 'instance'; readonly instanceId: string }
  | { readonly page: 'commands' }
  | { readonly page: 'invocations' }
  | { readonly page: 'invocation'; readonly invokeId: string }
  | { readonly page: 'files' }
  | { readonly page: 'file'; readonly invokeId: string }
  /** Sessions, of one instance when `instanceId` is set. */
  | { readonly page: 'sessions'; readonly instanceId?: string }
  | { readonly page: 'session'; readonly sessionId: string }
  /** The audit trail (LookupEvents). */
  | { readonly page: 'audit' };

export function parseRoute(hash: string): Route {
  const [path = '', query] = hash.replace(/^#\/?/, '').split('?');
  const [first, second] = path.split('/');
  if (first === 'instances' && second) return { page: 'instance', instanceId: decodeURIComponent(second) };
  if (first === 'commands') return { page: 'commands' };
  if (first === 'invocations' && second) return { page: 'invocation', invokeId: decodeURIComponent(second) };
  if (first === 'invocations') return { page: 'invocations' };
  if (first === 'files' && second) return { page: 'file', invokeId: decodeURIComponent(second) };
  if (first === 'files') return { page: 'files' };
  if (first === 'audit') return { page: 'audit' };
  if (first === 'sessions' && second) return { page: 'session', sessionId: decodeURIComponent(second) };
  if (first === 'sessions') {
    const instanceId = new URLSearchParams(query).get('instance');
    return instanceId ? { page: 'sessions', instanceId } : { page: 'sessions' };
  }
  return { page: 'instances' };
}

export function hrefOf(route: Route): string {
  if (route.page === 'invocation') return `#/invocations/${encodeURIComponent(route.invokeId)}`;
  if (route.page === 'file') return `#/files/${encodeURIComponent(route.invokeId)}`;
  if (route.page === 'instance') return `#/instances/${encodeURIComponent(route.instanceId)}`;
  if (route.page === 'session') return `#/sessions/${encodeURIComponent(route.sessionId)}`;
  if (route.page === 'sessions' && route.instanceId) {
    return `#/sessions?${new URLSearchParams({ instance: route.instanceId })}`;
  }
  return `#/${route.page}`;
}

/** The section a page belongs to, for the navigation's current link. */
export function sectionOf(route: Route): Route['page'] {
  if (route.page === 'invocation') return 'invocations';
  if (route.page === 'file') return 'files';
  if (route.page === 'instance') return 'instances';
  if (route.page === 'session') return 'sessions';
  return route.page;
}

export function navigate(route: Route): void {
  location.hash = hrefOf(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
