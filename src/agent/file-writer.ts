import { constants, lstatSync, unlinkSync } from 'node:fs';
import { chmod, type FileHandle, link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runError } from '../domain/run-errors.js';
import { errnoCode } from '../guards.js';
import type { RunOutcome } from './runner.js';
import { lookupGroup, lookupUser } from './users.js';

/** Where and how a file lands (a file task's attributes; its bytes come from a ContentSource). */
export interface FilePlacement {
  readonly name: string;
  readonly targetDir: string;
  readonly owner: string;
  readonly group: string;
  /** Permission bits, 0 to 0o7777. */
  readonly mode: number;
  readonly overwrite: boolean;
}

/**
 * Writes the file's bytes into the open temporary file: a buffer at once, or a download streamed
 * to disk. It must give up (reject) once `signal` aborts. Whatever it leaves is never seen at the
 * target unless it resolves.
 */
export type ContentSource = (file: FileHandle, signal: AbortSignal) => Promise<void>;

/** The bytes themselves (SendFile's `content`). */
export const bytesSource =
  (bytes: Buffer): ContentSource =>
  async (file) => {
    await file.writeFile(bytes);
  };

/**
 * The temporary file of one run, beside the target (a rename stays on one filesystem) and named
 * by the run (with the instance: agents sharing a directory), not by the file: a name of 255
 * characters leaves no room for more, and recovery finds a crashed run's leftover from the journal alone.
 */
export const tempPathOf = (targetDir: string, runId: string): string =>
  join(targetDir, `.openassist-send-${runId}.tmp`);

const failed = (
  code: 'FileAlreadyExists' | 'AccountNotExists' | 'GroupNotExists',
  detail: string,
): RunOutcome => ({
  status: 'Failed',
  exitCode: null,
  ...runError(code, detail),
});

const exists = async (path: string): Promise<boolean> => {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
};

/** Owner and group as ids, or the failure naming the one that does not exist. */
async function resolveAccounts(placement: FilePlacement): Promise<{ uid: number; gid: number } | RunOutcome> {
  const user = await lookupUser(placement.owner);
  if (!user) return failed('AccountNotExists', `no user ${placement.owner}`);
  const group = await lookupGroup(placement.group);
  if (!group) return failed('GroupNotExists', `no group ${placement.group}`);
  return { uid: user.uid, gid: group.gid };
}

export interface PlaceOptions {
  /** Names the temporary file (the run's id: invoke id, and execution when not 0). */
  readonly runId: string;
  /** Aborted on timeout or stop: the placement gives up, removing its temporary file. */
  readonly signal: AbortSignal;
  /** Windows has no owner, group or mode to set (SendFile documents them as Linux-only). */
  readonly platform?: NodeJS.Platform;
}

/**
 * Places one file: written to a temporary file in the target dir (made when missing, 0755),
 * synced, given its owner, group and mode, then moved into place in one step, so the target holds
 * the old file or the new one, never part of one. Without `overwrite` any existing entry (a
 * symlink too, even a dangling one) is left alone and the run fails `FileAlreadyExists`; with it, a
 * symlink at the target is replaced itself, never followed (following it would write wherever it
 * points, outside the target dir). Rejects on an unexpected error or an abort, its temporary file removed.
 */
export async function placeFile(
  placement: FilePlacement,
  source: ContentSource,
  options: PlaceOptions,
): Promise<RunOutcome> {
  const onWindows = (options.platform ?? process.platform) === 'win32';
  const target = join(placement.targetDir, placement.name);
  const accounts = onWindows ? undefined : await resolveAccounts(placement);
  if (accounts && 'status' in accounts) return accounts;
  options.signal.throwIfAborted();
  await makeDirs(placement.targetDir);
  if (!placement.overwrite && (await exists(target))) {
    return failed('FileAlreadyExists', target);
  }
  const temp = tempPathOf(placement.targetDir, options.runId);
  // Ours by its name: one left by a crash is removed at start, but never write through a link.
  await unlink(temp).catch((error: unknown) => {
    if (errnoCode(error) !== 'ENOENT') throw error;
  });
  const file = await open(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    try {
      await source(file, options.signal);
      options.signal.throwIfAborted();
      await file.sync();
      if (accounts) {
        // chown first: it clears set-id bits that chmod then sets.
        await file.chown(accounts.uid, accounts.gid);
        await file.chmod(placement.mode);
      }
    } finally {
      await file.close();
    }
    options.signal.throwIfAborted();
    if (placement.overwrite) {
      await rename(temp, target);
    } else if (!(await linkIfAbsent(temp, target))) {
      return failed('FileAlreadyExists', target);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  if (!onWindows) await syncDir(placement.targetDir);
  return { status: 'Success', exitCode: null, errorCode: '', errorInfo: '' };
}

/** `mkdir -p` with 0755 for every directory it makes, whatever the agent's umask. */
async function makeDirs(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (first === undefined) return;
  for (let made = dir; made.length >= first.length; made = dirname(made)) {
    await chmod(made, 0o755);
    if (made === first) break;
  }
}

/**
 * Moves the temporary file into place only if nothing is there, in one step: link() refuses an
 * existing entry (a file that appeared since the check too). False when one was there.
 */
async function linkIfAbsent(temp: string, target: string): Promise<boolean> {
  try {
    await link(temp, target);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/** Makes the rename durable: the directory entry reaches the disk, not only the file's bytes. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * After a crash: removes the temporary file a run being placed left behind (a regular file of
 * ours by its name). The target was never touched by it. Returns whether there was one.
 */
export function removeLeftover(targetDir: string, runId: string): boolean {
  const temp = tempPathOf(targetDir, runId);
  try {
    if (!lstatSync(temp).isFile()) return false;
    unlinkSync(temp);
    return true;
  } catch {
    return false;
  }
}
