import { existsSync } from 'node:fs';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFileTask } from './file-task.js';
import { bytesSource, type FilePlacement, placeFile, removeLeftover, tempPathOf } from './file-writer.js';

// Owners other than the agent's own need root (chown); the suites run as root, as the agent does.
const asRoot = process.getuid?.() === 0;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oa-file-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const placement = (fields: Partial<FilePlacement> = {}): FilePlacement => ({
  name: 'app.conf',
  targetDir: join(dir, 'etc', 'app'),
  owner: 'root',
  group: 'root',
  mode: 0o644,
  overwrite: false,
  ...fields,
});

const place = (fields: Partial<FilePlacement> = {}, content = 'new\n') =>
  placeFile(placement(fields), bytesSource(Buffer.from(content)), {
    runId: 'f-1',
    signal: new AbortController().signal,
  });

describe.skipIf(!asRoot)('placing a file', () => {
  it('creates the missing target dir (0755) and lands the content with its owner, group and mode', async () => {
    const outcome = await place({ owner: 'nobody', group: 'daemon', mode: 0o640 });
    expect(outcome).toEqual({ status: 'Success', exitCode: null, errorCode: '', errorInfo: '' });
    const target = join(dir, 'etc', 'app', 'app.conf');
    expect(await readFile(target, 'utf8')).toBe('new\n');
    const info = await stat(target);
    expect({ uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 }).toEqual({
      uid: 65534,
      gid: 1,
      mode: 0o640,
    });
    expect((await stat(join(dir, 'etc'))).mode & 0o777).toBe(0o755);
    expect(await readdir(join(dir, 'etc', 'app'))).toEqual(['app.conf']);
  });

  it('makes the missing dirs 0755 whatever the umask', async () => {
    const umask = process.umask(0o077);
    try {
      expect(await place()).toMatchObject({ status: 'Success' });
    } finally {
      process.umask(umask);
    }
    for (const made of [join(dir, 'etc'), join(dir, 'etc', 'app')]) {
      expect((await stat(made)).mode & 0o777).toBe(0o755);
    }
  });

  it('keeps set-id bits (chmod after chown)', async () => {
    await place({ owner: 'nobody', mode: 0o4755 });
    expect((await stat(join(dir, 'etc', 'app', 'app.conf'))).mode & 0o7777).toBe(0o4755);
  });

  it('without Overwrite leaves an existing file alone and fails FileAlreadyExists', async () => {
    await place();
    const outcome = await place({ mode: 0o600 }, 'other\n');
    expect(outcome).toMatchObject({ status: 'Failed', errorCode: 'FileAlreadyExists' });
    expect(await readFile(join(dir, 'etc', 'app', 'app.conf'), 'utf8')).toBe('new\n');
    expect(await readdir(join(dir, 'etc', 'app'))).toEqual(['app.conf']);
  });

  it('with Overwrite replaces the file in one step', async () => {
    await place();
    expect(await place({ overwrite: true, mode: 0o600 }, 'other\n')).toMatchObject({ status: 'Success' });
    const target = join(dir, 'etc', 'app', 'app.conf');
    expect(await readFile(target, 'utf8')).toBe('other\n');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it('never follows a symlink at the target: without Overwrite it exists (dangling too), with it the link is replaced', async () => {
    const targetDir = join(dir, 'etc', 'app');
    await mkdir(targetDir, { recursive: true });
    const elsewhere = join(dir, 'elsewhere');
    await writeFile(elsewhere, 'precious\n');
    const target = join(targetDir, 'app.conf');
    await symlink(join(dir, 'missing'), target);
    expect(await place()).toMatchObject({ status: 'Failed', errorCode: 'FileAlreadyExists' });
    expect(await readlink(target)).toBe(join(dir, 'missing'));
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    await rm(target);
    await symlink(elsewhere, target);
    expect(await place({ overwrite: true })).toMatchObject({ status: 'Success' });
    expect((await lstat(target)).isFile()).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('new\n');
    expect(await readFile(elsewhere, 'utf8')).toBe('precious\n');
  });

  it.each<[Partial<FilePlacement>, string]>([
    [{ owner: 'no-such-user-oa' }, 'AccountNotExists'],
    [{ group: 'no-such-group-oa' }, 'GroupNotExists'],
  ])('fails %o with %s and creates nothing', async (fields, code) => {
    expect(await place(fields)).toMatchObject({ status: 'Failed', errorCode: code });
    expect(existsSync(join(dir, 'etc'))).toBe(false);
  });

  it('gives up on an abort mid-write, its temporary file removed and the target untouched', async () => {
    await place();
    const abort = new AbortController();
    const placing = placeFile(
      placement({ overwrite: true }),
      async (file, signal) => {
        await file.writeFile('half');
        abort.abort(new Error('stop'));
        signal.throwIfAborted();
      },
      { runId: 'f-2', signal: abort.signal },
    );
    await expect(placing).rejects.toThrow('stop');
    expect(await readdir(join(dir, 'etc', 'app'))).toEqual(['app.conf']);
    expect(await readFile(join(dir, 'etc', 'app', 'app.conf'), 'utf8')).toBe('new\n');
  });

  it('removes a crashed run’s leftover temporary file, and nothing that is not a file of ours', async () => {
    const targetDir = join(dir, 'etc', 'app');
    await mkdir(targetDir, { recursive: true });
    await writeFile(tempPathOf(targetDir, 'f-3'), 'half');
    expect(removeLeftover(targetDir, 'f-3')).toBe(true);
    expect(await readdir(targetDir)).toEqual([]);
    await symlink(join(dir, 'x'), tempPathOf(targetDir, 'f-4'));
    expect(removeLeftover(targetDir, 'f-4')).toBe(false);
    expect(removeLeftover(join(dir, 'missing'), 'f-5')).toBe(false);
  });

  it('times out as a run: Timeout / ExecutionTimeout, nothing at the target', async () => {
    const marker = join(dir, 'paused');
    const file = { ...placement(), content: Buffer.from('content').toString('base64') };
    const handle = runFileTask(file, { runId: 'f-6', timeoutSeconds: 0.2, pauseMarker: marker }, {});
    expect(await handle.done).toMatchObject({ status: 'Timeout', errorCode: 'ExecutionTimeout' });
    expect(existsSync(marker)).toBe(true);
    expect(await readdir(join(dir, 'etc', 'app'))).toEqual([]);
  });

  it('is stopped as a run: Terminated, nothing at the target', async () => {
    const marker = join(dir, 'paused');
    const file = { ...placement(), content: Buffer.from('content').toString('base64') };
    let started = false;
    const handle = runFileTask(
      file,
      { runId: 'f-7', timeoutSeconds: 60, pauseMarker: marker },
      {
        onStart: () => {
          started = true;
        },
      },
    );
    expect(started).toBe(true);
    const deadline = Date.now() + 10_000;
    while (!existsSync(marker) && Date.now() < deadline)
      await new Promise((resolve) => setImmediate(resolve));
    handle.stop('ProcessTree');
    expect(await handle.done).toMatchObject({ status: 'Terminated' });
    expect(await readdir(join(dir, 'etc', 'app'))).toEqual([]);
  });

  it('fails a task naming no content source it knows', async () => {
    const handle = runFileTask(placement(), { runId: 'f-8', timeoutSeconds: 60 }, {});
    expect(await handle.done).toMatchObject({ status: 'Error', errorCode: 'ExecutionException' });
  });
});
