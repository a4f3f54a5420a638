import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/deadline.js';
import { startCheckpointer } from './sqlite-checkpointer.js';

describe('background checkpoints', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-checkpoint-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('copies committed pages from the log into the database file while the writer never checkpoints', async () => {
    const path = join(dir, 'db.sqlite');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    const stop = startCheckpointer(path);
    try {
      const before = statSync(path).size;
      const insert = db.prepare('INSERT INTO t (text) VALUES (?)');
      for (let i = 0; i < 500; i++) insert.run('x'.repeat(200));
      const after = await waitFor('the database file to grow', () => {
        const size = statSync(path).size;
        return size > before + 50_000 ? size : undefined;
      });
      expect(after).toBeGreaterThan(before);
      expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(500);
    } finally {
      stop();
      db.close();
    }
  });
});
