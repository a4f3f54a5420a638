import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { parseStat } from '../../src/agent/terminal/process-session.js';
import { frameType } from '../../src/protocol/session-frames.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type SessionRelay, startSessionRelay } from '../helpers/session-relay.js';

// A real agent process, its channel and its session sockets served by a stand-in server: the
// agent answers session-open by dialing its own server back, signed in as its channel is.
const instanceId = `mi-${randomBytes(8).toString('hex')}`;
const token = randomBytes(16).toString('hex');
let relay: SessionRelay;
let agent: AgentProcess;
let stateDir: string;
let channel: WebSocket | undefined;

beforeAll(async () => {
  relay = await startSessionRelay({
    channel: (socket) => {
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { type: string };
        if (message.type !== 'hello') return;
        socket.send(JSON.stringify({ type: 'welcome', instanceId, heartbeatSeconds: 30 }));
        channel = socket;
      });
    },
  });
  stateDir = await mkdtemp(join(tmpdir(), 'agent-sessions-'));
  await writeFile(join(stateDir, 'identity.json'), JSON.stringify({ instanceId, token }), { mode: 0o600 });
  agent = await startAgentProcess({ serverUrl: relay.url, stateDir });
});

afterAll(async () => {
  await agent?.stop();
  await relay.close();
  await rm(stateDir, { recursive: true, force: true });
});

/** Gone: no such process, or a zombie (an orphan's zombie waits for an init that may never reap it). */
function isGone(pid: number): boolean {
  try {
    const state = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.state;
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

const openSession = (fields: Record<string, unknown> = {}) => {
  const sessionId = `s-${randomBytes(16).toString('hex')}`;
  channel?.send(JSON.stringify({ type: 'session-open', sessionId, ...fields }));
  return sessionId;
};

describe('the agent serving a terminal session', () => {
  it('dials its server back for session-open and serves a shell there', async () => {
    const sessionId = openSession();
    const peer = await relay.next();
    expect(peer.path).toBe(`/agent/v1/sessions/${sessionId}`);
    expect(peer.headers['x-openassist-instance-id']).toBe(instanceId);
    expect(peer.headers.authorization).toBe(`Bearer ${token}`);
    peer.type('echo "hi-$((6 * 7))"; exit 5\n');
    expect(await peer.waitForClose()).toBe(1000);
    expect(peer.text()).toContain('\nhi-42\n');
    expect(peer.jsonOf(frameType.exit)).toEqual({ exitCode: 5 });
  });

  it('ends its sessions when it stops', async () => {
    openSession();
    const peer = await relay.next();
    peer.type('echo "shell=$$"\n');
    const shellPid = Number((await peer.waitForText(/\nshell=(\d+)\n/))[1]);
    await agent.stop();
    expect(await peer.waitForClose()).toBe(1001);
    await waitFor('the shell to be gone', () => (isGone(shellPid) ? true : undefined));
  });
});
