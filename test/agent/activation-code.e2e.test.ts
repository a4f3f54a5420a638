import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

/** What `ps` shows of a process: its argument vector, NULs as spaces. */
const commandLine = async (pid: number | undefined): Promise<string> =>
  (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');

// Any local user can read another's /proc/PID/cmdline (ps), while /proc/PID/environ is the owner's.
describe('the activation code is not in the agent process arguments', () => {
  let server: ServerProcess;
  let client: EcsClient;
  let activation: { id: string; code: string };
  let dir: string;
  const agents: AgentProcess[] = [];

  const start = async (options: Partial<Parameters<typeof startAgentProcess>[0]>) => {
    const agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: activation.id,
      activationCode: activation.code,
      ...options,
    });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    server = await startServerProcess();
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou', instanceCount: 10 }),
    );
    activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
    dir = await mkdtemp(join(tmpdir(), 'openassist-code-'));
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers with the code from OPENASSIST_ACTIVATION_CODE, never in its arguments', async () => {
    const agent = await start({ codeVia: 'env' });
    expect(agent.instanceId).toMatch(/^mi-/);
    const shown = await commandLine(agent.child.pid);
    expect(shown).toContain(' agent ');
    expect(shown).not.toContain(activation.code);
  });

  it('scrubs the deprecated --activation-code from its arguments once started, with a warning', async () => {
    const agent = await start({ codeVia: 'flag' });
    expect(agent.instanceId).toMatch(/^mi-/);
    const shown = await commandLine(agent.child.pid);
    expect(shown).toContain('--activation-code ***');
    expect(shown).not.toContain(activation.code);
    expect(agent.output()).toMatch(/--activation-code is deprecated.*OPENASSIST_ACTIVATION_CODE/);
    // The process keeps its name (top, systemd and pgrep show "node", not a truncated title).
    expect((await readFile(`/proc/${agent.child.pid}/comm`, 'utf8')).trim()).toBe('node');
  });

  it('takes the code from an owner-only --activation-code-file, refusing one others can read', async () => {
    const file = join(dir, 'activation-code');
    await writeFile(file, `${activation.code}\n`, { mode: 0o644 });
    await chmod(file, 0o644);
    const refused = await start({
      activationCode: '',
      args: ['--activation-code-file', file],
      waitConnected: false,
    });
    expect(await refused.exited).toBe(2);
    expect(refused.output()).toContain(`${file} is readable by other users (mode 644): chmod 600 ${file}`);
    expect(refused.output()).not.toContain(activation.code);

    await chmod(file, 0o600);
    const agent = await start({ activationCode: '', args: ['--activation-code-file', file] });
    expect(agent.instanceId).toMatch(/^mi-/);
    expect(await commandLine(agent.child.pid)).not.toContain(activation.code);
    // Registered: the code has served its purpose and leaves the disk.
    expect(existsSync(file)).toBe(false);
  });

  it('does not show the flag form in the agent help', async () => {
    const help = await startAgentProcess({
      serverUrl: server.url,
      args: ['--help'],
      waitConnected: false,
    });
    await help.exited;
    await help.stop();
    expect(help.output()).toContain('OPENASSIST_ACTIVATION_CODE');
    expect(help.output()).toContain('--activation-code-file');
    expect(help.output()).not.toMatch(/--activation-code[ <]/);
  });

  it("`up` registers its local agent without the code in any process's arguments", async () => {
    const up = await startServerProcess({ command: 'up' });
    try {
      expect(up.stdout()).toMatch(/agent {7}mi-[0-9a-f]+ \(this machine\)/);
      const shown = await commandLine(up.child.pid);
      expect(shown).toContain(' up ');
      expect(shown).not.toMatch(/activation/i);
    } finally {
      await up.stop();
    }
  });
});
