import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPrivateFile, describeTightened, privateDir, tightenFile } from './private-files.js';

const modeOf = (path: string) => statSync(path).mode & 0o7777;

describe('private files', () => {
  let parent: string;

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), 'openassist-private-'));
  });

  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('makes a dir with exactly its mode whatever the umask, and changes nothing the second time', () => {
    const dir = join(parent, 'data');
    const umask = process.umask(0o077);
    try {
      expect(privateDir(dir, 0o711)).toEqual([{ path: dir, from: 0o700, to: 0o711 }]);
    } finally {
      process.umask(umask);
    }
    expect(modeOf(dir)).toBe(0o711);
    expect(privateDir(dir, 0o711)).toEqual([]);
  });

  it('takes group and other access from the files in it, keeping the owner bits and subdirectories', async () => {
    const dir = join(parent, 'data');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    await chmod(dir, 0o755);
    await chmod(join(dir, 'sub'), 0o755);
    writeFileSync(join(dir, 'db'), '');
    await chmod(join(dir, 'db'), 0o644);
    writeFileSync(join(dir, 'tool'), '');
    await chmod(join(dir, 'tool'), 0o750);
    writeFileSync(join(dir, 'key'), '', { mode: 0o600 });
    const changed = privateDir(dir, 0o700);
    expect(describeTightened(changed, dir)).toBe(`${dir} 755→700, db 644→600, tool 750→700`);
    expect(modeOf(join(dir, 'key'))).toBe(0o600);
    expect(modeOf(join(dir, 'sub'))).toBe(0o755);
  });

  it('creates an owner-only file and leaves a missing one alone', () => {
    const file = join(parent, 'db');
    createPrivateFile(file);
    expect(modeOf(file)).toBe(0o600);
    expect(tightenFile(join(parent, 'missing'))).toBeUndefined();
  });
});
