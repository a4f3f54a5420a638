import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/deadline.js';
import { binPath, startServerProcess } from '../helpers/server-process.js';

const repoRoot = join(binPath, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd,
      env: {
        ...process.env,
        OPENASSIST_ROOT_ACCESS_KEY_ID: '',
        OPENASSIST_ROOT_ACCESS_KEY_SECRET: '',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('openassist up, then openassist call from the same directory', () => {
  let dir: string;
  const env = {
    OPENASSIST_ROOT_ACCESS_KEY_ID: '',
    OPENASSIST_ROOT_ACCESS_KEY_SECRET: '',
    OPENASSIST_LOG_LEVEL: 'info',
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-cli-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a private root key, prints how to connect, and answers calls made with it', async () => {
    const dataDir = join(dir, 'data');
    const up = await startServerProcess({ command: 'up', dataDir, env });
    try {
      expect(up.stdout()).toContain('region      cn-hangzhou');
      // The console it names is served, from the build.
      const consoleUrl = /console {5}(\S+)/.exec(up.stdout())?.[1] ?? '';
      const page = await fetch(consoleUrl);
      expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('<title>OpenAssist')]);
      expect(up.stdout()).toContain(join(dataDir, 'root-access-key.json'));
      const keyFile = join(dataDir, 'root-access-key.json');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const key = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, string>;
      expect(key.AccessKeyId).toMatch(/^LTAI[A-Za-z0-9]{20}$/);
      expect(key.AccessKeySecret).toHaveLength(30);
      expect(up.stderr()).not.toContain(key.AccessKeySecret);

      // The example `up` prints, pasted as is from the checkout, runs on the local agent.
      const example = /^ {2}(\.\/bin\/openassist run .*)$/m.exec(up.stdout())?.[1] ?? '';
      expect(example).toContain('--instance mi-');
      await waitFor('the local agent to connect', () =>
        up.stdout().includes('agent: connected as') ? true : undefined,
      );
      const pasted = await new Promise<Run>((resolve) => {
        const child = spawn('sh', ['-c', example], {
          cwd: repoRoot,
          env: { ...process.env, ...env, OPENASSIST_DATA_DIR: dataDir },
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
        });
        child.on('exit', (code) => resolve({ code, stdout, stderr: '' }));
      });
      expect(pasted.code).toBe(0);
      expect(pasted.stdout).toMatch(/^hello from \S+\n$/);

      // A schedule is created and named, not waited for.
      const instanceId = /--instance (mi-[0-9a-f]+)/.exec(example)?.[1] ?? '';
      const scheduled = await run(
        ['run', '--instance', instanceId, '--script', 'date', '--frequency', 'rate(1h)', '--data', dataDir],
        env,
      );
      expect(scheduled.code).toBe(0);
      expect(scheduled.stdout).toMatch(/^t-\S+\n$/);
      expect(scheduled.stderr).toContain('its runs: openassist results t-');

      const regions = await run(['call', 'DescribeRegions', '--data', dataDir], env);
      expect(regions.code).toBe(0);
      expect(JSON.parse(regions.stdout).Regions.Region[0].RegionId).toBe('cn-hangzhou');

      const created = await run(
        [
          'call',
          'CreateCommand',
          '--Name',
          'cli',
          '--Type=RunShellScript',
          '--CommandContent',
          'ZWNobw==',
          '--data',
          dataDir,
        ],
        env,
      );
      expect(JSON.parse(created.stdout).CommandId).toMatch(/^c-/);

      const preview = await run(
        ['schedule', 'preview', '0 0 12 * * ?', '--tz', 'Asia/Shanghai', '--count', '2', '--data', dataDir],
        env,
      );
      expect(preview.code).toBe(0);
      expect(preview.stdout).toMatch(/^cron schedule, zone Asia\/Shanghai\n/);
      expect(preview.stdout).toMatch(/│ \S+T12:00:00\+08:00 │ \S+T04:00:00Z │/);
      // The README's promise: a run a DST gap moved is flagged, not listed silently.
      const dst = await run(
        ['schedule', 'preview', '0 30 1 ? 3 SUN Europe/London', '--count', '5', '--data', dataDir],
        env,
      );
      expect(dst.stdout).toMatch(
        /│ \S+T02:00:00\+01:00 │ \S+T01:00:00Z │ moved: 01:00-02:00 does not exist \(DST starts\)/,
      );
      const badPreview = await run(['schedule', 'preview', 'rate(1s)', '--data', dataDir], env);
      expect([badPreview.code, badPreview.stderr]).toEqual([
        1,
        expect.stringContaining('InvalidParam.Frequency'),
      ]);

      const group = await run(
        [
          'call',
          'CreateResourceGroup',
          '--api-version',
          '2020-03-31',
          '--Name',
          'cli-group',
          '--DisplayName',
          'CLI',
          '--data',
          dataDir,
        ],
        env,
      );
      expect(JSON.parse(group.stdout).ResourceGroup.Id).toMatch(/^rg-/);
      const made = await run(
        ['resource-group', 'create', 'verb-group', '--display-name', 'Verb', '--data', dataDir, '--json'],
        env,
      );
      const id = (JSON.parse(made.stdout) as { Id: string }).Id;
      expect(JSON.parse(made.stdout)).toMatchObject({ Name: 'verb-group', DisplayName: 'Verb' });
      const listed = await run(['resource-group', 'list', '--data', dataDir, '--json'], env);
      expect(JSON.parse(listed.stdout)).toHaveLength(2);
      expect((await run(['resource-group', 'delete', id, '--data', dataDir], env)).code).toBe(0);
      const again = await run(['resource-group', 'delete', id, '--data', dataDir], env);
      expect([again.code, again.stderr]).toEqual([
        1,
        expect.stringContaining('EntityNotExists.ResourceGroup'),
      ]);

      const refused = await run(['call', 'DeleteCommand', '--CommandId', 'c-none', '--data', dataDir], env);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout).Code).toBe('InvalidCmdId.NotFound');
    } finally {
      expect(await up.stop()).toBe(0);
    }
    expect(up.stderr()).toContain('server stopped');

    // A restart keeps the same key and data.
    const again = await startServerProcess({ command: 'up', dataDir, env });
    try {
      const list = await run(['call', 'DescribeCommands', '--Name', 'cli', '--data', dataDir], env);
      expect(JSON.parse(list.stdout).TotalCount).toBe(1);
    } finally {
      await again.stop();
    }
  }, 120_000);

  it('explains configuration mistakes and exits with status 2', async () => {
    const listen = await run(['server', '--listen', 'nowhere', '--data', join(dir, 'x')]);
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain('--listen must be HOST:PORT');
    const half = await run(['server', '--data', join(dir, 'y')], {
      OPENASSIST_ROOT_ACCESS_KEY_ID: 'LTAIonly',
    });
    expect(half.code).toBe(2);
    const database = await run(['server', '--database', 'mysql://x', '--data', join(dir, 'z')]);
    expect(database.code).toBe(1);
    expect(database.stderr).toContain('unsupported database URL');
    const noEndpoint = await run(['call', 'DescribeRegions', '--data', join(dir, 'empty')], {}, dir);
    expect(noEndpoint.code).toBe(2);
    expect(noEndpoint.stderr).toContain('no endpoint');
  });
});
