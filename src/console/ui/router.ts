import { useEffect, useState } from 'preact/hooks';

/** Pages are addressed by the URL fragment, so the server serves one index.html for all of them. */
export type Route =
  | { readonly page: 'instances' }
  | { readonly page: 'commands' }
  | { readonly page: 'invocations' }
  | { readonly page: 'invocation'; readonly invokeId: string }
  | { readonly page: 'files' }
  | { readonly page: 'file'; readonly invokeId: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const [first, second] = path.split('/');
  if (first === 'commands') return { page: 'commands' };
  if (first === 'invocations' && second) return { page: 'invocation', invokeId: decodeURIComponent(second) };
  if (first === 'invocations') return { page: 'invocations' };
  if (first === 'files' && second) return { page: 'file', invokeId: decodeURIComponent(second) };
  if (first === 'files') return { page: 'files' };
  return { page: 'instances' };
}

export function hrefOf(route: Route): string {
  if (route.page === 'invocation') return `#/invocations/${encodeURIComponent(route.invokeId)}`;
  if (route.page === 'file') return `#/files/${encodeURIComponent(route.invokeId)}`;
  return `#/${route.page}`;
}

/** The section a page belongs to, for the navigation's current link. */
export function sectionOf(route: Route): Route['page'] {
  if (route.page === 'invocation') return 'invocations';
  if (route.page === 'file') return 'files';
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
