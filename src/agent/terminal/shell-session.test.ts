import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates } from '../../../test/helpers/certificates.js';
import { waitFor } from '../../../test/helpers/deadline.js';
import { type SessionRelay, startSessionRelay } from '../../../test/helpers/session-relay.js';
import { encodeFrame, frameType, resizeFrame, sessionLimits } from '../../protocol/session-frames.js';
import { parseStat } from './process-session.js';
import { TerminalSessions } from './sessions.js';

// Real shells in real ptys, through a relay that plays the server's part.
let relay: SessionRelay;
let sessions: TerminalSessions;
const isRoot = process.getuid?.() === 0;
const otherUser = `oa-session-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  relay = await startSessionRelay();
  sessions = new TerminalSessions({
    instanceId: 'i-sessiontest',
    token: 'agent-token',
    serverUrl: () => relay.url,
    say: () => undefined,
    // Long enough for a hung-up login profile (its helpers) to clean up under a loaded machine.
    killGraceMs: 1_000,
  });
  if (isRoot) execFileSync('useradd', ['-m', '-s', '/bin/bash', otherUser]);
});

afterAll(async () => {
  await sessions.stopAll();
  await relay.close();
  if (isRoot) execFileSync('userdel', ['-r', '-f', otherUser], { stdio: 'ignore' });
});

const newSessionId = () => `s-${randomBytes(16).toString('hex')}`;

/** The pid of the live process whose command line is exactly `argv`. */
function pidOf(...argv: string[]): number | undefined {
  const wanted = `${argv.join('\0')}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') === wanted && isAlive(Number(entry)))
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Alive: present and not a zombie (an orphan's zombie waits for an init that may never reap it). */
function isAlive(pid: number): boolean {
  try {
    const state = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.state;
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('a terminal session (shell)', () => {
  it('dials the relay with the channel credentials and gives a real pty that takes resizes', async () => {
    const sessionId = newSessionId();
    sessions.open({ type: 'session-open', sessionId });
    const peer = await relay.next();
    expect(peer.path).toBe(`/agent/v1/sessions/${sessionId}`);
    expect(peer.headers['x-openassist-instance-id']).toBe('i-sessiontest');
    expect(peer.headers.authorization).toBe('Bearer agent-token');
    // Sent at once, before the agent can know the pty: applied once it does.
    peer.send(resizeFrame(132, 43));
    // The resize runs beside the shell's start: ask again until the size has arrived.
    let asked = 0;
    await waitFor('the resized pty', async () => {
      peer.type('tty; stty size\n');
      asked++;
      await waitFor(
        'an answer',
        () => (peer.text().match(/\n\d+ \d+\n/g)?.length ?? 0) >= asked || undefined,
      );
      return peer.text().includes('43 132\n') || undefined;
    });
    expect(peer.text()).toMatch(/\n\/dev\/pts\/\d+\n43 132\n/);
    peer.type('exit\n');
    expect(await peer.waitForClose()).toBe(1000);
  });

  it('sets a size sent before the first keys before the shell reads them, and each resize before the keys after it', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId() });
    const peer = await relay.next();
    peer.send(resizeFrame(91, 17));
    peer.type('stty size\n');
    await peer.waitForText(/\n\d+ \d+\n/);
    expect(peer.text().match(/\n(\d+ \d+)\n/)?.[1]).toBe('17 91');
    // A window dragged about: sizes set one at a time, the keys typed after them wait for the last.
    for (let rows = 20; rows <= 30; rows++) peer.send(resizeFrame(100, rows));
    peer.type('stty size; exit\n');
    expect(await peer.waitForClose()).toBe(1000);
    expect(peer.text().match(/\n(\d+ \d+)\n/g)).toEqual(['\n17 91\n', '\n30 100\n']);
  });

  it('ends piped input only after the size sent before it is set', async () => {
    const commandLine = 'read first; stty size; echo "first=$first"; cat';
    sessions.open({ type: 'session-open', sessionId: newSessionId(), commandLine });
    const peer = await relay.next();
    peer.send(resizeFrame(77, 11));
    peer.type('piped\n');
    peer.send(encodeFrame(frameType.close, 0));
    expect(await peer.waitForClose()).toBe(1000);
    expect(peer.text()).toMatch(/\n11 77\nfirst=piped\n/);
    expect(peer.jsonOf(frameType.exit)).toEqual({ exitCode: 0 });
  });

  it("hands script's pid over before its go (to leave the agent's cgroup), then runs script as that pid", async () => {
    const placed: { pid: number; command: string }[] = [];
    const placing = new TerminalSessions({
      instanceId: 'i-sessiontest',
      token: 'agent-token',
      serverUrl: () => relay.url,
      say: () => undefined,
      placeProcess: (pid) => placed.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'utf8') }),
    });
    try {
      placing.open({ type: 'session-open', sessionId: newSessionId(), commandLine: 'cat /proc/$PPID/comm' });
      const peer = await relay.next();
      expect(await peer.waitForClose()).toBe(1000);
      expect(placed).toHaveLength(1);
      // Still the gate (sh) when placed; script by the time the shell asks for its parent.
      expect(placed[0]?.command.split('\0')[0]).toBe('/bin/sh');
      expect(peer.text()).toContain('script\n');
    } finally {
      await placing.stopAll();
    }
  });

  it('interrupts the foreground job on Ctrl-C (byte 0x03)', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId() });
    const peer = await relay.next();
    peer.type('sleep 101\n');
    const sleeper = await waitFor('sleep 101 to run', () => pidOf('sleep', '101'));
    peer.type('\x03');
    await waitFor('sleep 101 to be interrupted', () => !isAlive(sleeper) || undefined);
    peer.type('echo "status=$?"\n');
    await peer.waitForText(/\nstatus=130\n/);
    peer.socket.close();
  });

  it('sends the exit status, then closes the socket with 1000', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId() });
    const peer = await relay.next();
    peer.type('exit 3\n');
    expect(await peer.waitForClose()).toBe(1000);
    expect(peer.jsonOf(frameType.exit)).toEqual({ exitCode: 3 });
    // Nothing follows the exit frame.
    expect(peer.frames.at(-1)?.type).toBe(frameType.exit);
  });

  it('runs a CommandLine through the shell, its status in the exit frame', async () => {
    sessions.open({
      type: 'session-open',
      sessionId: newSessionId(),
      commandLine: 'echo "cmd $TERM"; exit 7',
    });
    const peer = await relay.next();
    expect(await peer.waitForClose()).toBe(1000);
    expect(peer.output()).toContain('cmd xterm-256color');
    expect(peer.jsonOf(frameType.exit)).toEqual({ exitCode: 7 });
  });

  it("passes the end of the input (close on stream 0) on as the terminal's EOF", async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId(), commandLine: 'wc -l' });
    const peer = await relay.next();
    peer.type('one\ntwo\nthree\n');
    peer.send(encodeFrame(frameType.close, 0));
    expect(await peer.waitForClose()).toBe(1000);
    expect(peer.text()).toMatch(/\n3\n$/);
    expect(peer.jsonOf(frameType.exit)).toEqual({ exitCode: 0 });
  });

  it('kills the whole shell session when the socket closes, a nohup job too', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId() });
    const peer = await relay.next();
    peer.type('sleep 1001 & nohup sleep 1002 >/dev/null 2>&1 &\n');
    const plain = await waitFor('sleep 1001', () => pidOf('sleep', '1001'));
    const nohup = await waitFor('sleep 1002', () => pidOf('sleep', '1002'));
    peer.socket.close();
    await waitFor('the shell session to be killed', () =>
      isAlive(plain) || isAlive(nohup) ? undefined : true,
    );
  });

  it('ends what the shell left running when it exits', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId() });
    const peer = await relay.next();
    peer.type('nohup sleep 1003 >/dev/null 2>&1 &\n');
    const left = await waitFor('sleep 1003', () => pidOf('sleep', '1003'));
    peer.type('exit\n');
    expect(await peer.waitForClose()).toBe(1000);
    await waitFor('the left-behind job to be killed', () => (isAlive(left) ? undefined : true));
  });

  it.skipIf(!isRoot)('runs as Username with its login environment', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId(), username: otherUser });
    const peer = await relay.next();
    peer.type('echo "u=$USER h=$HOME p=$(pwd) id=$(id -un)"\n');
    await peer.waitForText(
      new RegExp(`\nu=${otherUser} h=/home/${otherUser} p=/home/${otherUser} id=${otherUser}\n`),
    );
    peer.type('exit\n');
    expect(await peer.waitForClose()).toBe(1000);
  });

  it('refuses a user missing on the machine: error UserNotExists, then close', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId(), username: 'oa-no-such-user' });
    const peer = await relay.next();
    expect(await peer.waitForClose()).toBe(1000);
    expect(peer.jsonOf(frameType.error)).toMatchObject({ code: 'UserNotExists' });
  });

  it('cuts off a peer that sends a malformed frame (4400)', async () => {
    sessions.open({ type: 'session-open', sessionId: newSessionId() });
    const peer = await relay.next();
    peer.send(encodeFrame(frameType.open, 0));
    expect(await peer.waitForClose()).toBe(4400);
  });

  it('dials an https:// server as wss://, trusting the CA the agent was given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'session-tls-'));
    const certificates = makeCertificates(dir);
    const tlsRelay = await startSessionRelay({
      tls: { cert: readFileSync(certificates.cert), key: readFileSync(certificates.key) },
    });
    const tlsSessions = new TerminalSessions({
      instanceId: 'i-sessiontest',
      token: 'agent-token',
      ca: readFileSync(certificates.ca),
      serverUrl: () => tlsRelay.url,
      say: () => undefined,
    });
    try {
      tlsSessions.open({ type: 'session-open', sessionId: newSessionId(), commandLine: 'echo over-tls' });
      const peer = await tlsRelay.next();
      expect(await peer.waitForClose()).toBe(1000);
      expect(peer.text()).toContain('over-tls');
      // Without that CA the relay is not trusted: nothing is sent to it.
      const said: string[] = [];
      const untrusting = new TerminalSessions({
        instanceId: 'i-sessiontest',
        token: 'agent-token',
        serverUrl: () => tlsRelay.url,
        say: (line) => said.push(line),
      });
      untrusting.open({ type: 'session-open', sessionId: newSessionId() });
      await waitFor('the refused dial', () => said.find((line) => line.includes('failed:')));
      expect(tlsRelay.sessions).toHaveLength(1);
    } finally {
      await tlsSessions.stopAll();
      await tlsRelay.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never has more than a window of output unacknowledged, however slowly the peer acks', async () => {
    const totalBytes = 50_000_000;
    sessions.open({
      type: 'session-open',
      sessionId: newSessionId(),
      commandLine: `head -c ${totalBytes} /dev/zero`,
    });
    const peer = await relay.next();
    peer.autoAck = false;
    // A slow peer: acks what it has every 10 ms.
    const acking = setInterval(() => peer.ackAll(), 10);
    try {
      expect(await peer.waitForClose(60_000)).toBe(1000);
    } finally {
      clearInterval(acking);
    }
    expect(peer.bytes(0).byteLength).toBe(totalBytes);
    expect(peer.maxUnackedBytes).toBeLessThanOrEqual(sessionLimits.windowBytes);
    expect(peer.jsonOf(frameType.exit)).toEqual({ exitCode: 0 });
  }, 90_000);
});
