import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from './identity.js';
import { Journal } from './journal.js';
import { asideStamp, openJournal } from './journal-file.js';

describe('opening the agent journal', () => {
  let dir: string;
  const said: string[] = [];
  const say = (line: string) => said.push(line);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-journal-file-'));
    said.length = 0;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A journal with some runs in it, closed, then bytes in its middle overwritten (its header intact). */
  const damagePage = () => {
    const journal = new Journal(dir);
    for (let n = 0; n < 200; n++) {
      journal.accept(
        {
          invokeId: `t-${n}`,
          commandType: 'RunShellScript',
          script: 'x'.repeat(500),
          username: '',
          workingDir: '',
          timeoutSeconds: 60,
          terminationMode: 'ProcessTree',
        },
        { invokeId: `t-${n}`, execution: 0 },
        Date.now(),
      );
    }
    journal.close();
    const path = join(dir, 'journal.log');
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 4096 * 3, 4096 * 5);
    writeFileSync(path, bytes);
  };

  it('stops on broken records behind a sound header, and keeps the file aside only when told to', () => {
    damagePage();
    expect(() => openJournal(dir, false, say)).toThrow(AgentError);
    expect(() => openJournal(dir, false, say)).toThrow(/is damaged \(JOURNAL_DAMAGED: .*--reset-journal/);
    const journal = openJournal(dir, true, say);
    expect(journal.unfinished()).toEqual([]);
    journal.close();
    const aside = readdirSync(dir).filter((name) => name.startsWith('journal.log.damaged-'));
    expect(aside).toHaveLength(1);
    expect(said).toEqual([expect.stringContaining(`kept aside as ${aside[0]}`)]);
  });

  it('names the kept file by the UTC time', () => {
    expect(asideStamp(Date.UTC(2026, 11, 6, 5, 21, 0, 123))).toBe('20261206T052100Z');
  });
});
