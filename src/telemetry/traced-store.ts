import type { Store } from '../store/store.js';
import type { Tracing } from './tracing.js';

// Store spans (docs/tracing.md): every call of a repository method made inside a traced request
// is a `store.<repo>.<method>` span, such as `store.invocations.create`. Wrapped at the Store port,
// so both backends are covered and the spans name operations, not SQL. A server with tracing off
// never builds this wrapper; work outside a request (sweeps, agent events) makes no spans.

/** Each method of one repository in a span, its wrappers made once per method. */
function tracedRepo<R extends object>(repo: R, repoName: string, tracing: Tracing): R {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(repo, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let wrapper = wrappers.get(property);
      if (!wrapper) {
        const name = `store.${repoName}.${property}`;
        wrapper = (...args: unknown[]) => tracing.childCall(name, () => Reflect.apply(value, target, args));
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}

/** The store with its repositories traced; `ping`, `close`, the notifications and the dialect unchanged. */
export function tracedStore(store: Store, tracing: Tracing): Store {
  const repos = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof property !== 'string' || property === 'notifications') return value;
      if (typeof value === 'function') return value.bind(target);
      if (!value || typeof value !== 'object') return value;
      let repo = repos.get(property);
      if (!repo) {
        repo = tracedRepo(value, property, tracing);
        repos.set(property, repo);
      }
      return repo;
    },
  });
}
