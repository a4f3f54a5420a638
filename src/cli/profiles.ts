import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError } from '../config.js';
import { errnoCode } from '../guards.js';

/** One named set of connection settings, as `openassist configure` writes it. */
export interface Profile {
  endpoint?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  region?: string;
}

/** `~/.openassist/config.json`: the aliyun CLI's shape (a current profile among named ones), our names. */
export interface ProfileFile {
  current: string;
  profiles: Record<string, Profile>;
}

export const defaultProfileName = 'default';

export const profileFilePath = (): string => join(homedir(), '.openassist', 'config.json');

/** The profile file, or an empty one when there is none yet; a damaged file is an error, never ignored. */
export async function readProfiles(file = profileFilePath()): Promise<ProfileFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { current: defaultProfileName, profiles: {} };
    throw error;
  }
  try {
    // Checked just below as far as this file is read: an object with an object of profiles.
    const parsed = JSON.parse(text) as Partial<ProfileFile>;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.profiles !== 'object')
      throw new Error();
    return { current: parsed.current ?? defaultProfileName, profiles: parsed.profiles ?? {} };
  } catch {
    throw new ConfigError(
      `${file} is not a profile file; fix it or run \`openassist configure\` after removing it`,
    );
  }
}

/** Writes the file readable by its owner only (it holds secrets), atomically. */
export async function writeProfiles(content: ProfileFile, file = profileFilePath()): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}
