import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';

describe('two agents on one state dir', () => {
  let fleet: Fleet;
  const started: AgentProcess[] = [];

  beforeAll(async () => {
    fleet = await startFleet();
  });

  afterAll(async () => {
    for (const agent of started) await agent.stop();
    await fleet?.stop();
  });

  it('the second stops with a clear message before it changes anything; after a crash of the first, the next one starts', async () => {
    const { stateDir } = fleet.agent;
    const before = await readdir(stateDir);
    const journalBefore = await readFile(join(stateDir, 'journal.log'));
    const modeBefore = (await stat(stateDir)).mode;

    const second = await startAgentProcess({ serverUrl: fleet.server.url, stateDir, waitConnected: false });
    started.push(second);
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toContain(`another agent (pid ${fleet.agent.child.pid},`);
    expect(second.output()).toContain(stateDir);
    expect(second.output()).not.toMatch(/^\s+at /m);
    expect(await readdir(stateDir)).toEqual(before);
    expect(await readFile(join(stateDir, 'journal.log'))).toEqual(journalBefore);
    expect((await stat(stateDir)).mode).toBe(modeBefore);

    await fleet.agent.stop('SIGKILL');
    const next = await startAgentProcess({ serverUrl: fleet.server.url, stateDir });
    started.push(next);
    expect(next.instanceId).toBe(fleet.agent.instanceId);
  });
});
