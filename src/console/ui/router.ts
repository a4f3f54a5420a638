import { useEffect, useState } from 'preact/hooks';

/** Pages are addressed by the URL fragment, so the server serves one index.html for all of them. */
export type Route =
  | { readonly page: 'instances' }
  | { readonly page: 'commands' }
  | { readonly page: 'invocations' }
  | { readonly page: 'invocation'; readonly invokeId: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const [first, second] = path.split('/');
  if (first === 'commands') return { page: 'commands' };
  if (first === 'invocations' && second) return { page: 'invocation', invokeId: decodeURIComponent(second) };
  if (first === 'invocations') return { page: 'invocations' };
  return { page: 'instances' };
}

export const hrefOf = (route: Route): string =>
  route.page === 'invocation' ? `#/invocations/${encodeURIComponent(route.invokeId)}` : `#/${route.page}`;

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
