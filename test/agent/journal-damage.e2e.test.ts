import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';

/** The journals kept aside in the state dir. */
const keptAside = async (stateDir: string): Promise<string[]> =>
  (await readdir(stateDir)).filter((name) => /^journal\.log\.damaged-\d{8}T\d{6}Z$/.test(name));

describe('a damaged agent journal', () => {
  let fleet: Fleet;
  let stateDir: string;
  const started: AgentProcess[] = [];
  const garbage = randomBytes(16 * 1024);

  const start = async (options: { args?: string[]; env?: Record<string, string>; wait: boolean }) => {
    const agent = await startAgentProcess({
      serverUrl: fleet.server.url,
      stateDir,
      waitConnected: options.wait,
      ...(options.args && { args: options.args }),
      ...(options.env && { env: options.env }),
    });
    started.push(agent);
    return agent;
  };

  beforeAll(async () => {
    fleet = await startFleet();
    stateDir = fleet.agent.stateDir;
    // The agent stopped, its journal overwritten with garbage (a disk error, a bad copy).
    await fleet.agent.stop('SIGKILL');
    await writeFile(join(stateDir, 'journal.log'), garbage);
  });

  afterAll(async () => {
    for (const agent of started) await agent.stop();
    await fleet?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('stops the agent with a clear message, no stack, a non-zero status, the file untouched', async () => {
    const agent = await start({ wait: false });
    const code = await agent.exited;
    const output = agent.output();
    expect(code).not.toBe(0);
    expect(output).toContain(join(stateDir, 'journal.log'));
    expect(output).toMatch(/damaged/);
    expect(output).toContain('--reset-journal');
    expect(output).not.toMatch(/JournalDamaged|^\s+at /m);
    expect(await readFile(join(stateDir, 'journal.log'))).toEqual(garbage);
    expect(await keptAside(stateDir)).toEqual([]);
  });

  it('with --reset-journal keeps the bad file aside and starts with a fresh journal', async () => {
    const agent = await start({ args: ['--reset-journal'], wait: true });
    expect(agent.instanceId).toBe(fleet.agent.instanceId);
    const aside = await keptAside(stateDir);
    expect(aside).toHaveLength(1);
    expect(await readFile(join(stateDir, aside[0] ?? ''))).toEqual(garbage);
    expect(agent.output()).toContain(aside[0]);
    await agent.stop();
  });

  it('leaves a healthy journal alone even when told to reset (OPENASSIST_AGENT_RESET_JOURNAL)', async () => {
    const agent = await start({ env: { OPENASSIST_AGENT_RESET_JOURNAL: '1' }, wait: true });
    expect(agent.instanceId).toBe(fleet.agent.instanceId);
    expect(await keptAside(stateDir)).toHaveLength(1);
    await agent.stop();
  });
});
