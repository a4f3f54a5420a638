import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// Whatever the umask says, the server's data dir and the agent's state dir keep their secrets
// (the root key, the database, the agent's token and journal) from other local users.
const umask = 0o022;
/** No root key from the environment: the server makes one and writes root-access-key.json. */
const generatedKey = { OPENASSIST_ROOT_ACCESS_KEY_ID: '', OPENASSIST_ROOT_ACCESS_KEY_SECRET: '' };

const modeOf = async (path: string): Promise<string> => ((await stat(path)).mode & 0o777).toString(8);

/** The mode of every file directly in `dir`, by name. */
async function fileModes(dir: string): Promise<Record<string, string>> {
  const modes: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) modes[entry.name] = await modeOf(join(dir, entry.name));
  }
  return modes;
}

/** Every file directly in `dir` made readable by all, and the dir itself listable by all. */
async function loosen(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) await chmod(join(dir, entry.name), 0o644);
  }
}

describe('the data dir and the agent state dir are private whatever the umask', () => {
  let parent: string;
  let dataDir: string;
  let stateDir: string;
  let server: ServerProcess | undefined;
  let agent: AgentProcess | undefined;
  let listen = '';

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'openassist-modes-'));
    // Neither exists yet: the server and the agent create them.
    dataDir = join(parent, 'data');
    stateDir = join(parent, 'agent');
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await rm(parent, { recursive: true, force: true });
  });

  it('creates the data dir 0700 and every file in it 0600 under umask 022', async () => {
    server = await startServerProcess({ dataDir, umask, env: generatedKey });
    listen = server.endpoint;
    const key = JSON.parse(await readFile(join(dataDir, 'root-access-key.json'), 'utf8')) as {
      AccessKeyId: string;
      AccessKeySecret: string;
    };
    const client = ecsClient(server.endpoint, key.AccessKeyId, key.AccessKeySecret);
    const { body } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou' }),
    );
    agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
      stateDir,
      umask,
    });

    expect(await modeOf(dataDir)).toBe('700');
    const serverFiles = await fileModes(dataDir);
    for (const name of [
      'openassist.db',
      'openassist.db-wal',
      'openassist.db-shm',
      'root-access-key.json',
      'secret.key',
      'endpoint',
    ]) {
      expect(serverFiles[name], name).toBe('600');
    }
    expect(Object.entries(serverFiles).filter(([, mode]) => mode !== '600')).toEqual([]);

    // The state dir and work dir are search-only for others (run-as users reach their scripts).
    expect(await modeOf(stateDir)).toBe('711');
    expect(await modeOf(join(stateDir, 'work'))).toBe('711');
    const agentFiles = await fileModes(stateDir);
    for (const name of ['identity.json', 'journal.log']) {
      expect(agentFiles[name], name).toBe('600');
    }
    expect(Object.entries(agentFiles).filter(([, mode]) => mode !== '600')).toEqual([]);
  });

  it('tightens an existing 0755 dir with 0644 files at start, and says so', async () => {
    await agent?.stop();
    await server?.stop();
    await loosen(dataDir);
    await loosen(stateDir);
    // The work dir too, as a loose umask would have left it.
    await chmod(join(stateDir, 'work'), 0o755);

    server = await startServerProcess({ dataDir, listen, umask, env: generatedKey });
    const said = server.stderr();
    expect(said).toMatch(/tightened/);
    expect(said).toContain('openassist.db 644→600');
    expect(said).toContain('root-access-key.json 644→600');
    expect(said).toContain(`${dataDir} 755→700`);
    expect(await modeOf(dataDir)).toBe('700');
    expect(Object.entries(await fileModes(dataDir)).filter(([, mode]) => mode !== '600')).toEqual([]);

    agent = await startAgentProcess({ serverUrl: server.url, stateDir, umask });
    const line = await waitFor('the tightening line', () => agent?.output().match(/tightened[^\n]*/)?.[0]);
    expect(line).toContain('identity.json 644→600');
    expect(line).toContain('journal.log 644→600');
    expect(line).toContain(`${stateDir} 755→711`);
    expect(await modeOf(stateDir)).toBe('711');
    expect(await modeOf(join(stateDir, 'work'))).toBe('711');
    expect(Object.entries(await fileModes(stateDir)).filter(([, mode]) => mode !== '600')).toEqual([]);
  });
});
