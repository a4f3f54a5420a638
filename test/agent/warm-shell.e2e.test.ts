import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalSettled } from '../helpers/agent-journal.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient, finishedResult } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const userName = `oaw${randomBytes(4).toString('hex')}`;

/** The agent's idle shell started ahead: its bash child, blocked before its go. */
function warmShellOf(agent: AgentProcess): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (ppid === String(agent.child.pid) && state !== 'Z' && stat.includes('(bash)')) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** What the shell `pid` was handed as its script ('' before a run takes it). */
const scriptIn = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/fd/4`, 'utf8');
  } catch {
    return undefined; // gone
  }
};

const alive = (pid: number): boolean => scriptIn(pid) !== undefined;

describe('shells started ahead on a real agent', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let activation: { id: string; code: string };
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'openassist-warm-'));
    await chmod(scratch, 0o777);
    execFileSync('useradd', ['-m', '-s', '/bin/bash', userName]);
    server = await startServerProcess();
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 5 }),
    );
    activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  });

  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    execFileSync('userdel', ['-r', '-f', userName], { stdio: 'ignore' });
    await rm(scratch, { recursive: true, force: true });
  });

  async function run(agent: AgentProcess, script: string, fields: Record<string, unknown> = {}) {
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [agent.instanceId],
        contentEncoding: 'PlainText',
        ...fields,
      }),
    );
    return body?.invokeId ?? '';
  }

  const startAgent = (env: Record<string, string> = {}) =>
    startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
      env,
    });

  it('never runs the script handed to the shell of an agent killed before its go, nor twice after the restart', async () => {
    const held = join(scratch, 'go-held');
    const marker = join(scratch, 'ran');
    const agent = await startAgent({ OPENASSIST_TEST_RUN_GO_PAUSE: held });
    const script = `echo run >> ${marker}`;
    const warm = await waitFor('a shell started ahead', () => warmShellOf(agent));
    const invokeId = await run(agent, script);
    // The run is on the journal's disk and the shell started ahead holds its script: no go yet.
    await waitFor('the go to be held', () => (scriptIn(warm) === script ? true : undefined));
    await waitFor('the journal record', async () =>
      (await readFile(held).catch(() => undefined)) ? true : undefined,
    );
    await agent.stop('SIGKILL');
    // Its go can never come: the shell ends without running anything.
    await waitFor('the shell to end', () => (alive(warm) ? undefined : true));
    const restarted = await startAgentProcess({ serverUrl: server.url, stateDir: agent.stateDir });
    try {
      const row = await finishedResult(client, invokeId);
      expect(row).toMatchObject({ invocationStatus: 'Error', errorCode: 'ExecutionInterrupted' });
      await waitFor('the restarted agent to settle its journal', () => journalSettled(agent.stateDir));
      expect(await readFile(marker, 'utf8').catch(() => 'never ran')).toBe('never ran');
      // The restarted agent's own shell ahead runs the next task, once.
      const next = await waitFor('a shell started ahead', () => warmShellOf(restarted));
      const again = await run(restarted, `${script}; echo $$`);
      const rerun = await finishedResult(client, again);
      expect(rerun).toMatchObject({ invocationStatus: 'Success', output: `${next}\n` });
      expect(await readFile(marker, 'utf8')).toBe('run\n');
    } finally {
      await restarted.stop();
    }
  });

  it('runs a task with another WorkingDir or Username in a shell of its own, and its own tasks in the one ahead', async () => {
    const agent = await startAgent();
    try {
      const warm = await waitFor('a shell started ahead', () => warmShellOf(agent));
      const probe = 'pwd; id -un; echo $$';
      const elsewhere = await finishedResult(client, await run(agent, probe, { workingDir: scratch }));
      expect(elsewhere.output?.split('\n').slice(0, 2)).toEqual([await realpath(scratch), 'root']);
      const asOther = await finishedResult(client, await run(agent, probe, { username: userName }));
      expect(asOther.output?.split('\n').slice(0, 2)).toEqual([`/home/${userName}`, userName]);
      // Neither was run by the shell ahead, which is still idle and was never handed a script.
      for (const other of [elsewhere, asOther]) expect(other.output).not.toContain(`\n${warm}\n`);
      expect(scriptIn(warm)).toBe('');
      const own = await finishedResult(client, await run(agent, probe));
      expect(own).toMatchObject({
        invocationStatus: 'Success',
        output: `${process.env.HOME}\nroot\n${warm}\n`,
      });
    } finally {
      await agent.stop();
    }
  });
});
