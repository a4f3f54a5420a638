import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceStatuses, isFinal } from '../../src/domain/invocation-status.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { Ecs, expectApiError } from '../helpers/sdk.js';

const region = 'cn-hangzhou';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const finalStatuses: readonly string[] = instanceStatuses.filter(isFinal);

describe('Username, WorkingDir and parameters cannot smuggle commands', () => {
  let fleet: Fleet;
  let scratch: string;

  beforeAll(async () => {
    fleet = await startFleet();
    scratch = await mkdtemp(join(tmpdir(), 'openassist-injection-'));
  });

  afterAll(async () => {
    await fleet?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function finished(invokeId: string) {
    return waitFor(
      `${invokeId} to finish`,
      async () => {
        const { body } = await fleet.client.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({
            regionId: region,
            invokeId,
            contentEncoding: 'PlainText',
          }),
        );
        const row = body?.invocation?.invocationResults?.invocationResult?.[0];
        return row && finalStatuses.includes(row.invocationStatus ?? '') ? row : undefined;
      },
      30_000,
    );
  }

  async function run(script: string, fields: Record<string, unknown> = {}) {
    const { body } = await fleet.client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [fleet.agent.instanceId],
        ...fields,
      }),
    );
    return finished(body?.invokeId ?? '');
  }

  it('refuses options and shell syntax in Username and WorkingDir with catalogued codes', async () => {
    const marker = join(scratch, 'pwned-by-request');
    const runWith = (fields: Record<string, unknown>) =>
      fleet.client.runCommand(
        new Ecs.RunCommandRequest({
          regionId: region,
          type: 'RunShellScript',
          commandContent: 'true',
          instanceId: [fleet.agent.instanceId],
          ...fields,
        }),
      );
    await expectApiError(runWith({ username: 'root -c id' }), 'InvalidUsername.Malformed', 400);
    await expectApiError(runWith({ username: '--help' }), 'InvalidUsername.Malformed', 400);
    await expectApiError(runWith({ username: `root;touch ${marker}` }), 'InvalidUsername.Malformed', 400);
    await expectApiError(
      runWith({ workingDir: `/tmp; touch ${marker}` }),
      'InvalidParameter.WorkingDir',
      400,
    );
    await expectApiError(runWith({ workingDir: '-rf' }), 'InvalidParameter.WorkingDir', 400);
    await expectApiError(runWith({ workingDir: '/tmp/$(id)' }), 'InvalidParameter.WorkingDir', 400);
    await expectApiError(
      fleet.client.createCommand(
        new Ecs.CreateCommandRequest({
          regionId: region,
          name: 'bad-dir',
          type: 'RunShellScript',
          commandContent: b64('true'),
          workingDir: `/tmp\ntouch ${marker}`,
        }),
      ),
      'InvalidParameter.WorkingDir',
      400,
    );
    const { body } = await fleet.client.createCommand(
      new Ecs.CreateCommandRequest({
        regionId: region,
        name: 'good-dir',
        type: 'RunShellScript',
        commandContent: b64('pwd'),
      }),
    );
    await expectApiError(
      fleet.client.invokeCommand(
        new Ecs.InvokeCommandRequest({
          regionId: region,
          commandId: body?.commandId ?? '',
          instanceId: [fleet.agent.instanceId],
          workingDir: `/tmp&&touch ${marker}`,
        }),
      ),
      'InvalidParameter.WorkingDir',
      400,
    );
    await expectApiError(
      fleet.client.modifyCommand(
        new Ecs.ModifyCommandRequest({
          regionId: region,
          commandId: body?.commandId ?? '',
          workingDir: '-rf',
        }),
      ),
      'InvalidParameter.WorkingDir',
      400,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('on the agent, a WorkingDir that got into the database anyway is a directory name, never a command', async () => {
    // Values stored before validation existed (or by hand) still reach the agent; it uses no shell for them.
    const marker = join(scratch, 'pwned-by-stored-dir');
    // A directory name holds no '/', so its own commands name relative files: looked for wherever they could land.
    const literal = join(scratch, 'dir; touch pwned $(touch pwned2)');
    const relativeMarkers = [scratch, literal, process.cwd(), process.env.HOME ?? '/root'].flatMap((dir) => [
      join(dir, 'pwned'),
      join(dir, 'pwned2'),
    ]);
    await mkdir(literal);
    const { body } = await fleet.client.createCommand(
      new Ecs.CreateCommandRequest({
        regionId: region,
        name: 'stored-dir',
        type: 'RunShellScript',
        commandContent: b64('pwd'),
      }),
    );
    const commandId = body?.commandId ?? '';
    const plant = (dir: string) => {
      const db = new Database(join(fleet.server.dataDir, 'openassist.db'));
      try {
        db.pragma('busy_timeout = 5000');
        db.prepare('UPDATE commands SET working_dir = ? WHERE id = ?').run(dir, commandId);
      } finally {
        db.close();
      }
    };
    const invoke = async () => {
      const { body: invoked } = await fleet.client.invokeCommand(
        new Ecs.InvokeCommandRequest({ regionId: region, commandId, instanceId: [fleet.agent.instanceId] }),
      );
      return finished(invoked?.invokeId ?? '');
    };
    plant(literal);
    const inLiteral = await invoke();
    expect(inLiteral.invocationStatus).toBe('Success');
    expect(inLiteral.output).toBe(`${literal}\n`);
    for (const dir of [`/tmp; touch ${marker}`, '-rf', `$(touch ${marker})`]) {
      plant(dir);
      const refused = await invoke();
      expect({ dir, status: refused.invocationStatus, code: refused.errorCode }).toEqual({
        dir,
        status: 'Failed',
        code: 'DirectoryNotExists',
      });
    }
    expect(existsSync(marker)).toBe(false);
    expect(relativeMarkers.filter((path) => existsSync(path))).toEqual([]);
  });

  it('substitutes parameter values into the script text literally, as Alibaba does: they become script', async () => {
    const marker = join(scratch, 'made-by-parameter');
    const value = `$(touch ${marker})`;
    const { body } = await fleet.client.createCommand(
      new Ecs.CreateCommandRequest({
        regionId: region,
        name: 'quoted-parameter',
        type: 'RunShellScript',
        enableParameter: true,
        // A quoted here-document: the shell expands nothing inside it, so the text shows as sent.
        commandContent: b64("cat <<'END'\n{{value}}\nEND"),
      }),
    );
    const { body: invoked } = await fleet.client.invokeCommand(
      new Ecs.InvokeCommandRequest({
        regionId: region,
        commandId: body?.commandId ?? '',
        instanceId: [fleet.agent.instanceId],
        parameters: { value },
      }),
    );
    const quoted = await finished(invoked?.invokeId ?? '');
    expect(quoted.output).toBe(`${value}\n`);
    expect(existsSync(marker)).toBe(false);
    // Unquoted, the same value is shell code of the script: quoting is the command author's job.
    const unquoted = await run('echo {{value}}', { enableParameter: true, parameters: { value } });
    expect(unquoted.invocationStatus).toBe('Success');
    expect(existsSync(marker)).toBe(true);
  });

  it('writes scripts owner-only (0700, the run-as user) in a directory others can pass through but not write or list, removed before they run', async () => {
    const scripts = join(fleet.agent.stateDir, 'work', 'scripts');
    // The shell reads the script on its fd 255; the file has no name left (0 links).
    const inspect = [
      `stat -L -c "%a %U %h" /proc/$$/fd/255; stat -c "%a %U" ${scripts}`,
      `touch ${scripts}/planted 2>/dev/null && echo dir-writable || echo dir-not-writable`,
      `ls ${scripts} >/dev/null 2>&1 && echo dir-listable || echo dir-not-listable`,
    ].join('\n');
    const asAgent = await run(
      `stat -L -c "%a %U %h" /proc/$$/fd/255; stat -c "%a %U" ${scripts}; ls -A ${scripts}`,
    );
    expect(asAgent.output).toBe('700 root 0\n711 root\n');
    const asNobody = await run(inspect, { username: 'nobody', workingDir: '/tmp' });
    expect(asNobody.invocationStatus).toBe('Success');
    expect(asNobody.output).toBe('700 nobody 0\n711 root\ndir-not-writable\ndir-not-listable\n');
  });
});
