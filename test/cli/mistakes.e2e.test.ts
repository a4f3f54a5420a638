import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, cli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { binPath } from '../helpers/server-process.js';

/** What a user sees for an ordinary mistake: one line on stderr, no stack trace. */
function oneLine(run: CliRun): string {
  expect(run.stderr, run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
  return run.stderr;
}

// The mistakes a new user makes with the real binary, against a real server and agent.
describe('the CLI on ordinary mistakes', () => {
  let fleet: Fleet;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    fleet = await startFleet();
    home = await mkdtemp(join(tmpdir(), 'openassist-mistakes-'));
    env = {
      HOME: home,
      OPENASSIST_DATA_DIR: join(home, 'no-data'),
      OPENASSIST_ENDPOINT: fleet.server.url,
      OPENASSIST_ACCESS_KEY_ID: fleet.server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: fleet.server.accessKeySecret,
      OPENASSIST_ROOT_ACCESS_KEY_ID: '',
      OPENASSIST_ROOT_ACCESS_KEY_SECRET: '',
    };
  });

  afterAll(async () => {
    await fleet?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('call --help, -h and call ACTION --help print the help of call, not a request', async () => {
    for (const args of [
      ['call', '--help'],
      ['call', '-h'],
      ['call', 'DescribeRegions', '--help'],
    ]) {
      const help = await cli(args, { env });
      expect([help.code, help.stdout], args.join(' ')).toEqual([
        0,
        expect.stringContaining('Usage: openassist call'),
      ]);
      expect(help.stdout).toContain('--api-version');
    }
    // Piped into head, which leaves after one line: the help ends quietly, no EPIPE stack.
    const errors = join(home, 'help-stderr');
    const piped = await new Promise<string>((resolve) => {
      const shell = spawn('bash', [
        '-c',
        `'${process.execPath}' '${binPath}' call --help 2>'${errors}' | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`,
      ]);
      let out = '';
      shell.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      shell.on('close', () => resolve(out));
    });
    expect([piped, await readFile(errors, 'utf8')]).toEqual(['0\n', '']);
  });

  it('results and output of an unknown invoke id say InvalidInvokeId.NotFound and exit 1', async () => {
    for (const args of [
      ['results', 't-nosuchinvocation'],
      ['results', 't-nosuchinvocation', '--follow'],
      ['output', 't-nosuchinvocation'],
      ['output', 't-nosuchinvocation', '--follow'],
    ]) {
      const result = await cli(args, { env });
      expect(result.code, args.join(' ')).toBe(1);
      expect(oneLine(result), args.join(' ')).toContain('InvalidInvokeId.NotFound');
    }
  });

  it('stop on a finished invocation says it already finished, with its status', async () => {
    const ran = await cli(['run', '--instance', fleet.agent.instanceId, '--script', 'echo done', '--json'], {
      env,
    });
    const invokeId = (JSON.parse(ran.stdout) as { InvokeId: string }).InvokeId;
    const stop = await cli(['stop', invokeId], { env });
    expect([stop.code, stop.stdout]).toEqual([0, `${invokeId} already finished: Success, nothing to stop\n`]);
  });

  it('a missing script file, a busy port and an unreachable server: one line each, with the fix', async () => {
    const missing = await cli(
      ['run', '--instance', fleet.agent.instanceId, '--file', join(home, 'nope.sh')],
      {
        env,
      },
    );
    expect(missing.code).toBe(2);
    expect(oneLine(missing)).toContain(`cannot read the script file ${join(home, 'nope.sh')}`);

    for (const verb of ['server', 'up']) {
      const busy = await cli(
        [verb, '--listen', fleet.server.endpoint, '--data', join(home, `busy-${verb}`)],
        {
          env: { ...env, OPENASSIST_LOG_LEVEL: 'silent' },
        },
      );
      expect(busy.code, verb).toBe(2);
      expect(oneLine(busy), verb).toMatch(new RegExp(`${fleet.server.endpoint} is already in use.*--listen`));
    }

    const away = await cli(['instances'], { env: { ...env, OPENASSIST_ENDPOINT: 'http://127.0.0.1:1' } });
    expect(away.code).toBe(1);
    expect(oneLine(away)).toContain('cannot reach http://127.0.0.1:1');
  });

  it('run --frequency rate(1m) with the default timeout suggests --timeout', async () => {
    const result = await cli(
      ['run', '--instance', fleet.agent.instanceId, '--script', 'date', '--frequency', 'rate(1m)'],
      { env },
    );
    expect(result.code).toBe(1);
    expect(oneLine(result)).toMatch(/InvalidParam\.Frequency.*--timeout/);
  });

  it('an unknown action in call suggests the closest known ones', async () => {
    const result = await cli(['call', 'DescribeInvocation'], { env });
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { Code: string; Message: string }).Message).toContain(
      'Did you mean DescribeInvocations',
    );
  });

  it('Ctrl-C while run follows prints the InvokeId and how to follow or stop it; the run goes on', async () => {
    const child = spawn(
      process.execPath,
      [binPath, 'run', '--instance', fleet.agent.instanceId, '--script', 'echo started; sleep 120'],
      { env: { ...process.env, ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor('the script to start', () => (stdout.includes('started') ? true : undefined), 30_000);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const invokeId = /(t-[0-9a-z]+)/.exec(stderr)?.[1] ?? '';
    expect(stderr).toContain(`openassist results ${invokeId} --follow`);
    expect(stderr).toContain(`openassist stop ${invokeId}`);
    const results = await cli(['results', invokeId, '--json'], { env });
    expect((JSON.parse(results.stdout) as { InvocationStatus: string }[])[0]?.InvocationStatus).toBe(
      'Running',
    );
    expect((await cli(['stop', invokeId], { env })).stdout).toBe(`${invokeId} stopping\n`);
  });
});
