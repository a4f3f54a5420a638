import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../guards.js';

export const secretKeyFileName = 'secret.key';
const version = 'v1';

/**
 * Encrypts secret parameters at rest with AES-256-GCM: a random 96-bit IV per value, the 128-bit
 * tag checked on every open, so a changed ciphertext or a wrong key fails loudly.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${version}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): string {
    if (!sealed.startsWith(`${version}:`)) throw new Error('unknown secret format');
    const bytes = Buffer.from(sealed.slice(version.length + 1), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/**
 * The key: OPENASSIST_SECRET_KEY (Base64 of 32 bytes; every node of a cluster needs the same one),
 * else DATA_DIR/secret.key, made on first start with mode 0600.
 */
export async function loadSecretKey(dataDir: string, fromEnvironment: string | undefined): Promise<Buffer> {
  if (fromEnvironment) {
    const key = Buffer.from(fromEnvironment, 'base64');
    if (key.length !== 32) throw new Error('OPENASSIST_SECRET_KEY must be the Base64 of 32 bytes');
    return key;
  }
  const file = join(dataDir, secretKeyFileName);
  try {
    return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' }).catch(
    async (error: unknown) => {
      // Another process made it first: use theirs.
      if (errnoCode(error) !== 'EEXIST') throw error;
    },
  );
  await chmod(file, 0o600);
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
}
