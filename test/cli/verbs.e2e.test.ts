import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { cli, cliJson } from '../helpers/cli-process.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { Ecs } from '../helpers/sdk.js';

// The real binary against a real server and two real agents, as a user would type it.
describe('the openassist client verbs', () => {
  let fleet: Fleet;
  let second: AgentProcess;
  let home: string;
  let env: Record<string, string>;
  let a: string;
  let b: string;

  beforeAll(async () => {
    fleet = await startFleet();
    const { body } = await fleet.client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou' }),
    );
    second = await startAgentProcess({
      serverUrl: fleet.server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
    });
    [a, b] = [fleet.agent.instanceId, second.instanceId];
    home = await mkdtemp(join(tmpdir(), 'openassist-home-'));
    // Nothing but a home directory: every setting comes from the profile `configure` writes.
    env = { HOME: home, OPENASSIST_DATA_DIR: join(home, 'no-data'), OPENASSIST_ROOT_ACCESS_KEY_ID: '' };
    const configured = await cli(['configure'], {
      env,
      input: `${fleet.server.url}\n${fleet.server.accessKeyId}\n${fleet.server.accessKeySecret}\n\n`,
    });
    expect(configured.code, configured.stderr).toBe(0);
  });

  afterAll(async () => {
    await second?.stop();
    await fleet?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('configure writes a private profile, which env variables and --profile override', async () => {
    const file = join(home, '.openassist', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      current: 'default',
      profiles: {
        default: {
          endpoint: fleet.server.url,
          accessKeyId: fleet.server.accessKeyId,
          accessKeySecret: fleet.server.accessKeySecret,
          region: 'cn-hangzhou',
        },
      },
    });
    // Enter keeps every value; the secret is never echoed back in full.
    const again = await cli(['configure'], { env, input: '\n\n\n\n' });
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain(fleet.server.accessKeySecret);
    expect(again.stderr).toContain(`****${fleet.server.accessKeySecret.slice(-4)}`);

    const missing = await cli(['instances', '--profile', 'lab'], { env });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('no profile "lab"')]);
    const region = await cli(['instances'], { env: { ...env, OPENASSIST_REGION: 'cn-nowhere' } });
    expect([region.code, region.stderr]).toEqual([1, expect.stringContaining('RegionId.ApiNotSupported')]);
    const lab = await cli(
      ['configure', '--profile', 'lab', '--endpoint', fleet.server.url, '--access-key-id', 'LTAInope'],
      { env, input: 'not-the-secret\n\n' },
    );
    expect([lab.code, lab.stderr]).toEqual([1, expect.stringContaining('InvalidAccessKeyId.NotFound')]);
    const fromLab = await cli(['instances', '--profile', 'default'], { env });
    expect(fromLab.code).toBe(0);
    // `lab` is now current: it is used unless --profile or OPENASSIST_PROFILE says otherwise.
    expect((await cli(['instances'], { env })).code).toBe(1);
    await cli(['configure', '--profile', 'default'], { env, input: '\n\n\n\n' });
  });

  it('run streams each instance output with a prefix and exits 0 only when all succeed', async () => {
    const ok = await cli(['run', '--instance', a, b, '--script', 'echo first; echo second'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    for (const id of [a, b]) {
      expect(ok.stdout).toContain(`[${id}] first\n[${id}] second\n`.split('\n')[0]);
      expect(ok.stdout).toContain(`[${id}] second`);
    }
    expect(ok.stdout).not.toContain('\u001b['); // a pipe gets no colour and no cursor codes
    expect(ok.stderr).toMatch(/t-\S+: 2\/2 succeeded/);

    const failed = await cli(['run', '--instance', a, '--script', 'echo partial; exit 3'], { env });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('partial\n'); // one instance: no prefix
    expect(failed.stderr).toContain(`${a} Failed exit 3 ExitCodeNonzero`);
  });

  it('run --json prints one parseable document with every result and output', async () => {
    const script = "printf 'a\\n'; printf 'é'; printf 'b'";
    const result = await cli(['run', '--instance', a, '--script', script, '--json'], { env });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { InvokeId: string; Results: Record<string, unknown>[] };
    expect(body.InvokeId).toMatch(/^t-/);
    expect(body.Results).toEqual([
      { InstanceId: a, InvocationStatus: 'Success', ExitCode: 0, Output: 'a\néb' },
    ]);
  });

  it('run --max-concurrency 1 runs the instances one after the other; a bad value names the parameter', async () => {
    const script = 'date +%s%3N; sleep 0.3; date +%s%3N';
    const result = await cli(
      [
        'run',
        '--instance',
        a,
        b,
        '--script',
        script,
        '--max-concurrency',
        '1',
        '--max-errors',
        '0',
        '--json',
      ],
      { env },
    );
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as { Results: { InvocationStatus: string; Output: string }[] };
    expect(body.Results.map((row) => row.InvocationStatus)).toEqual(['Success', 'Success']);
    const spans = body.Results.map((row) => row.Output.trim().split('\n').map(Number)).sort(
      (x, y) => (x[0] ?? 0) - (y[0] ?? 0),
    );
    expect(spans[1]?.[0]).toBeGreaterThanOrEqual(spans[0]?.[1] ?? Number.POSITIVE_INFINITY);
    const refused = await cli(['run', '--instance', a, '--script', 'true', '--max-concurrency', '0'], {
      env,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('InvalidParameter.MaxConcurrency');
  });

  it('on a terminal, run draws a live status table and progress bar in colour, never with NO_COLOR', async () => {
    const coloured = await cli(['run', '--instance', a, b, '--script', 'echo hi'], { env, tty: true });
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toMatch(/Instance\S* +│ \S*Status/);
    expect(coloured.stdout).toContain('2/2 done');
    expect(coloured.stdout).toContain('\x1b[32mSuccess');
    expect(coloured.stdout).toContain(`[${a}]\x1b[39m hi`);
    const plain = await cli(['run', '--instance', a, '--script', 'echo hi'], {
      env: { ...env, NO_COLOR: '1' },
      tty: true,
    });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('1/1 done');
    expect(plain.stdout.replaceAll('\u001b', '<ESC>')).not.toMatch(/<ESC>\[3\dm/); // no colour codes
  });

  it('--no-wait returns the InvokeId; output --follow streams it live; results and output read it after', async () => {
    const started = await cli(
      ['run', '--instance', a, '--no-wait', '--script', 'for i in 1 2 3; do echo tick $i; sleep 0.2; done'],
      { env },
    );
    expect(started.code).toBe(0);
    const invokeId = started.stdout.trim();
    expect(invokeId).toMatch(/^t-[0-9a-f]+$/);
    const followed = await cli(['output', invokeId, '--follow'], { env });
    expect([followed.code, followed.stdout]).toEqual([0, 'tick 1\ntick 2\ntick 3\n']);
    const results = await cliJson<{ InstanceId: string; InvocationStatus: string; FinishedTime: string }[]>(
      ['results', invokeId],
      { env },
    );
    expect(results).toMatchObject([{ InstanceId: a, InvocationStatus: 'Success', ExitCode: 0 }]);
    const table = await cli(['results', invokeId], { env });
    expect(table.stdout).toMatch(new RegExp(`│ ${a} │ Success │ 0 +│`));
    // A run that ended on its own has a finish time (and no stop time): the table shows it.
    expect(results[0]?.FinishedTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(table.stdout).toMatch(/│ Finished +│/);
    expect(table.stdout).toContain(results[0]?.FinishedTime);
    const output = await cli(['output', invokeId], { env });
    expect(output.stdout).toBe('tick 1\ntick 2\ntick 3\n');
  });

  it('stop ends a long run, and results --follow waits for it to end', async () => {
    const started = await cli(['run', '--instance', a, b, '--no-wait', '--script', 'sleep 600'], { env });
    const invokeId = started.stdout.trim();
    const follower = cliJson<{ InstanceId: string; InvocationStatus: string }[]>(
      ['results', invokeId, '--follow'],
      { env },
    );
    const stopped = await cli(['stop', invokeId], { env });
    expect([stopped.code, stopped.stdout]).toEqual([0, `${invokeId} stopping\n`]);
    const results = await follower;
    expect(results.map((result) => result.InvocationStatus)).toEqual(['Terminated', 'Terminated']);
  });

  it('commands create, list, invoke with parameters and delete', async () => {
    const created = await cliJson<{ CommandId: string }>(
      ['commands', 'create', 'greet', '--script', 'echo hello {{who}}', '--enable-parameter'],
      { env },
    );
    expect(created.CommandId).toMatch(/^c-/);
    const listed = await cliJson<{ CommandId: string; Name: string }[]>(['commands', 'list'], { env });
    expect(listed).toContainEqual(expect.objectContaining({ CommandId: created.CommandId, Name: 'greet' }));
    const invoked = await cli(['invoke', created.CommandId, '--instance', a, '--param', 'who=world'], {
      env,
    });
    expect([invoked.code, invoked.stdout]).toEqual([0, 'hello world\n']);
    expect((await cli(['commands', 'delete', created.CommandId], { env })).code).toBe(0);
    const gone = await cli(['commands', 'delete', created.CommandId], { env });
    expect([gone.code, gone.stderr]).toEqual([1, expect.stringContaining('InvalidCmdId.NotFound')]);
  });

  it('instances lists both agents online; activation create, list, disable, delete', async () => {
    const instances = await cliJson<{ InstanceId: string; CloudAssistantStatus: string }[]>(['instances'], {
      env,
    });
    expect(instances.map((instance) => [instance.InstanceId, instance.CloudAssistantStatus]).sort()).toEqual(
      [
        [a, 'true'],
        [b, 'true'],
      ].sort(),
    );
    const table = await cli(['instances'], { env });
    expect(table.stdout).toMatch(new RegExp(`│ ${a} │ \\S+ +│ Online │`));

    const activation = await cliJson<{ ActivationId: string; ActivationCode: string }>(
      ['activation', 'create', '--count', '3', '--ip-range', '127.0.0.0/8'],
      { env },
    );
    expect(activation.ActivationCode).toMatch(/^a-/);
    const listed = await cliJson<{ ActivationId: string; IpAddressRange: string }[]>(['activation', 'list'], {
      env,
    });
    expect(listed).toContainEqual(
      expect.objectContaining({ ActivationId: activation.ActivationId, IpAddressRange: '127.0.0.0/8' }),
    );
    expect((await cli(['activation', 'disable', activation.ActivationId], { env })).code).toBe(0);
    expect((await cli(['activation', 'delete', activation.ActivationId], { env })).code).toBe(0);
  });

  it('activation create prints the ready-to-paste install line, the code in the environment', async () => {
    const created = await cli(['activation', 'create', '--count', '1'], { env: { ...env, NO_COLOR: '1' } });
    expect(created.code, created.stderr).toBe(0);
    const id = /ActivationId +(\S+)/.exec(created.stdout)?.[1] ?? '';
    const code = /ActivationCode +(\S+)/.exec(created.stdout)?.[1] ?? '';
    expect(code).toMatch(/^a-/);
    expect(created.stdout).toContain(
      `\n  curl -fsSL ${fleet.server.url}/agent/install.sh | OPENASSIST_ACTIVATION_CODE=${code} sh -s -- --activation-id ${id}\n`,
    );
    // The test server listens on loopback: the line says other machines need another address.
    expect(created.stdout).toContain("is this machine's own address");
  });

  it('activation list reads every page, not only the first 50', async () => {
    const activationIds: string[] = [];
    for (let i = 0; i < 51; i++) {
      const { body } = await fleet.client.createActivation(
        new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou', instanceName: `paged-${i}` }),
      );
      activationIds.push(body?.activationId ?? '');
    }
    const activations = await cliJson<{ ActivationId: string }[]>(['activation', 'list'], { env });
    expect(activations.map((item) => item.ActivationId)).toEqual(expect.arrayContaining(activationIds));
    // The oldest of them is on the second page of 50.
    const table = await cli(['activation', 'list'], { env });
    expect(table.stdout).toContain(activationIds[0]);
  });

  it('keys: the root key creates, lists, disables and deletes keys; other keys may not', async () => {
    const key = await cliJson<{ AccessKeyId: string; AccessKeySecret: string }>(['keys', 'create'], { env });
    expect(key.AccessKeySecret).toHaveLength(30);
    const listed = await cliJson<Record<string, string>[]>(['keys', 'list'], { env });
    expect(listed.map((item) => item.AccessKeyId)).toContain(key.AccessKeyId);
    expect(JSON.stringify(listed)).not.toContain(key.AccessKeySecret);

    const asNew = {
      ...env,
      OPENASSIST_ACCESS_KEY_ID: key.AccessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: key.AccessKeySecret,
    };
    expect((await cli(['instances'], { env: asNew })).code).toBe(0);
    const refused = await cli(['keys', 'list'], { env: asNew });
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('Forbidden.RAM')]);
    const root = await cli(['keys', 'disable', fleet.server.accessKeyId], { env });
    expect([root.code, root.stderr]).toEqual([1, expect.stringContaining('Forbidden.RAM')]);

    expect((await cli(['keys', 'disable', key.AccessKeyId], { env })).code).toBe(0);
    const disabled = await cli(['instances'], { env: asNew });
    expect([disabled.code, disabled.stderr]).toEqual([
      1,
      expect.stringContaining('InvalidAccessKeyId.Inactive'),
    ]);
    const reader = await cliJson<{ AccessKeyId: string; AccessKeySecret: string }>(
      ['keys', 'create', '--allow', 'ecs:Describe*'],
      { env },
    );
    const asReader = {
      ...env,
      OPENASSIST_ACCESS_KEY_ID: reader.AccessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: reader.AccessKeySecret,
    };
    expect((await cli(['instances'], { env: asReader })).code).toBe(0);
    const denied = await cli(['run', '--instance', a, '--script', 'true'], { env: asReader });
    expect([denied.code, denied.stderr]).toEqual([1, expect.stringContaining('Forbidden.RAM')]);
    expect((await cli(['keys', 'list'], { env })).stdout).toContain('Allow ecs:Describe*');

    expect((await cli(['keys', 'delete', key.AccessKeyId], { env })).code).toBe(0);
    const deleted = await cli(['keys', 'delete', key.AccessKeyId], { env });
    expect([deleted.code, deleted.stderr]).toEqual([
      1,
      expect.stringContaining('EntityNotExist.User.AccessKey'),
    ]);
  });

  it('call takes wire names, and lists the aliyun way (--InstanceId a b)', async () => {
    const result = await cli(['call', 'DescribeCloudAssistantStatus', '--InstanceId', a, b], { env });
    expect(result.code).toBe(0);
    const ids = (
      JSON.parse(result.stdout) as {
        InstanceCloudAssistantStatusSet: { InstanceCloudAssistantStatus: { InstanceId: string }[] };
      }
    ).InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus.map((status) => status.InstanceId);
    expect(ids.sort()).toEqual([a, b].sort());
  });

  it('bash completion offers the verbs and flags of the words typed so far', async () => {
    const script = (await cli(['completion', 'bash'], { env })).stdout;
    const complete = async (words: string[]) => {
      const probe = `${script}\nCOMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _openassist; echo "\${COMPREPLY[*]}"`;
      const { spawnSync } = await import('node:child_process');
      return spawnSync('bash', ['-c', probe], { encoding: 'utf8' }).stdout.trim().split(' ');
    };
    expect(await complete(['openassist', 'activation', 'd'])).toEqual(['disable', 'delete']);
    expect(await complete(['openassist', 'run', '--instance', 'mi-1', '--no'])).toEqual(['--no-wait']);
    expect(await complete(['openassist', 'res'])).toEqual(['results', 'resource-group']);
  });

  it('zsh completion registers through bashcompinit and offers the same words (zsh filters by prefix)', async () => {
    const script = (await cli(['completion', 'zsh'], { env })).stdout;
    const { spawnSync } = await import('node:child_process');
    const probe = `${script}
print -r -- "registered: $_comps[openassist]"
setopt ksharrays
COMP_WORDS=(openassist activation d); COMP_CWORD=2; _openassist; print -r -- "\${COMPREPLY[*]}"`;
    const result = spawnSync('zsh', ['-fc', probe], {
      encoding: 'utf8',
      env: { ...process.env, HOME: home },
    });
    expect(result.stdout).toContain('registered: _bash_complete -o default -F _openassist');
    expect(result.stdout.trim().split('\n').at(-1)?.split(' ')).toEqual(
      expect.arrayContaining(['create', 'list', 'disable', 'delete']),
    );
  });
});
