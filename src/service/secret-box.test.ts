import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecretKey, SecretBox } from './secret-box.js';

describe('secret parameters at rest (AES-256-GCM)', () => {
  it('round-trips, never shows the plain text, and refuses a tampered value or another key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openassist-secret-'));
    try {
      const key = await loadSecretKey(dir, undefined);
      expect((await stat(join(dir, 'secret.key'))).mode & 0o777).toBe(0o600);
      expect(await loadSecretKey(dir, undefined)).toEqual(key);
      const box = new SecretBox(key);
      const sealed = box.seal('p@ssw0rd');
      expect(sealed).not.toContain('p@ssw0rd');
      expect(box.seal('p@ssw0rd')).not.toBe(sealed);
      expect(box.open(sealed)).toBe('p@ssw0rd');
      const tampered = `${sealed.slice(0, -4)}AAAA`;
      expect(() => box.open(tampered)).toThrow();
      expect(() => new SecretBox(Buffer.alloc(32, 1)).open(sealed)).toThrow();
      const fromEnv = Buffer.alloc(32, 7).toString('base64');
      expect(await loadSecretKey(dir, fromEnv)).toEqual(Buffer.alloc(32, 7));
      await expect(loadSecretKey(dir, 'c2hvcnQ=')).rejects.toThrow(/32 bytes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
