import { openPostgresStore } from './postgres.js';
import { openSqliteStore, type StoreOptions } from './sqlite.js';
import type { Store } from './store.js';

/** Opens the store a database URL names: `sqlite:PATH` or `postgres://…` (also `postgresql://`). */
export async function openStore(databaseUrl: string, options: StoreOptions = {}): Promise<Store> {
  if (databaseUrl.startsWith('sqlite:')) return openSqliteStore(databaseUrl.slice('sqlite:'.length), options);
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return openPostgresStore(databaseUrl, undefined, options);
  throw new Error(`unsupported database URL (use sqlite:PATH or postgres://…): ${redactUrl(databaseUrl)}`);
}

/** A database URL fit for logs: the password is replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
