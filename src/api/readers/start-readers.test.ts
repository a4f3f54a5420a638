import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startReaders } from './start-readers.js';

describe('startReaders', () => {
  const logger = pino({ level: 'silent' });

  it('starts none for PostgreSQL, an in-memory database, or 0 threads: those answer on the main thread', () => {
    expect(startReaders('postgres://127.0.0.1:5432/db', 2, 24_576, logger)).toBeUndefined();
    expect(startReaders('sqlite::memory:', 2, 24_576, logger)).toBeUndefined();
    expect(startReaders('sqlite:/tmp/none.db', 0, 24_576, logger)).toBeUndefined();
  });
});
