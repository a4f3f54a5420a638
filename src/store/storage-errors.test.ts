import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isStorageFull } from './storage-errors.js';

const { SqliteError } = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

describe('telling a full disk from other store failures', () => {
  it('knows SQLite, PostgreSQL and system codes for a full disk, also as a cause', () => {
    expect(isStorageFull(new SqliteError('database or disk is full', 'SQLITE_FULL'))).toBe(true);
    expect(isStorageFull(Object.assign(new Error('could not extend file'), { code: '53100' }))).toBe(true);
    expect(isStorageFull(Object.assign(new Error('no space'), { code: 'ENOSPC' }))).toBe(true);
    const wrapped = new Error('commit failed', {
      cause: new SqliteError('database or disk is full', 'SQLITE_FULL'),
    });
    expect(isStorageFull(wrapped)).toBe(true);
  });

  it('leaves every other failure alone', () => {
    expect(isStorageFull(new SqliteError('constraint failed', 'SQLITE_CONSTRAINT_UNIQUE'))).toBe(false);
    expect(isStorageFull(new Error('boom'))).toBe(false);
    expect(isStorageFull(undefined)).toBe(false);
    expect(isStorageFull('SQLITE_FULL')).toBe(false);
  });
});
