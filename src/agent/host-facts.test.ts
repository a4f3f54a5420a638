import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTimeZone } from './host-facts.js';

describe('localTimeZone', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-tz-'));
    await symlink('/usr/share/zoneinfo/Asia/Shanghai', join(dir, 'localtime'));
    await writeFile(join(dir, 'plain'), 'TZif');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads TZ first, then where /etc/localtime links, without Intl', () => {
    expect(localTimeZone('Europe/Paris', join(dir, 'localtime'))).toBe('Europe/Paris');
    expect(localTimeZone(':America/New_York', join(dir, 'localtime'))).toBe('America/New_York');
    expect(localTimeZone(undefined, join(dir, 'localtime'))).toBe('Asia/Shanghai');
    expect(localTimeZone(`:${join(dir, 'localtime')}`, '/nowhere')).toBe('Asia/Shanghai');
  });

  it("falls back to Intl's zone when the file is not a link", () => {
    const intl = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(localTimeZone(undefined, join(dir, 'plain'))).toBe(intl);
  });

  it('is UTC without the file, as for the C library (a minimal root has no /etc/localtime)', () => {
    expect(localTimeZone(undefined, join(dir, 'missing'))).toBe('UTC');
    expect(localTimeZone(`:${join(dir, 'missing')}`, join(dir, 'localtime'))).toBe('UTC');
  });
});
