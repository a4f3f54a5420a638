import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/deadline.js';
import type { UpgradeOffer } from '../protocol/messages.js';
import { retryBackoff, SelfUpgrade, type SelfUpgradeDeps } from './self-upgrade.js';

// Stand-ins for the executables: shell scripts that answer --version as the real one does.
const script = (version: string) => Buffer.from(`#!/bin/sh\n[ "$1" = --version ] && echo ${version}\n`);
const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');

let dir: string;
let target: string;
let server: Server;
let serverUrl: string;
/** What the server answers for the download: set per test. */
let served: Buffer;
let requests: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openassist-upgrade-'));
  target = join(dir, 'openassist-agent');
  await writeFile(target, script('0.2.0'), { mode: 0o755 });
  served = script('0.9.0');
  requests = 0;
  server = createServer((request, response) => {
    requests++;
    if (request.url !== '/agent/download/openassist-agent-linux-x64') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(served);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const offerOf = (content: Buffer, fields: Partial<UpgradeOffer> = {}): UpgradeOffer => ({
  type: 'upgrade',
  version: '0.9.0',
  path: '/agent/download/openassist-agent-linux-x64',
  sha256: sha256(content),
  sizeBytes: content.length,
  windows: [],
  timeZone: 'UTC',
  ...fields,
});

function upgrader(fields: Partial<SelfUpgradeDeps> = {}) {
  const said: string[] = [];
  const events: string[] = [];
  const upgrade = new SelfUpgrade({
    version: '0.2.0',
    executablePath: target,
    selfUpgradable: true,
    serverUrl: () => serverUrl,
    ca: undefined,
    jitterMs: 0,
    isQuiet: () => true,
    stopTakingTasks: () => events.push('stop taking tasks'),
    resumeTakingTasks: () => events.push('resume taking tasks'),
    restart: (version) => events.push(`restart ${version}`),
    say: (line) => said.push(line),
    quietCheckMs: 10,
    windowCheckMs: 10,
    ...fields,
  });
  return { upgrade, said, events };
}

const stagedFiles = async () => (await readdir(dir)).filter((name) => name.includes('.upgrade-'));

describe('self-upgrade from the server', () => {
  it('downloads, verifies, tries and swaps in the offered executable, then restarts', async () => {
    const { upgrade, said, events } = upgrader();
    upgrade.offer(offerOf(served));
    await waitFor('the restart', () => (events.includes('restart 0.9.0') ? true : undefined));
    expect(events).toEqual(['stop taking tasks', 'restart 0.9.0']);
    expect(await readFile(target)).toEqual(served);
    expect(await stagedFiles()).toEqual([]);
    expect(said.join('\n')).toMatch(/agent 0\.9\.0 downloaded, verified and tried in \d+ ms/);
    expect(requests).toBe(1);
  });

  it.each<[string, () => UpgradeOffer, RegExp]>([
    [
      'a wrong sha256',
      () => offerOf(served, { sha256: 'f'.repeat(64) }),
      /sha256 is [0-9a-f]{64}, not the offered f{64}/,
    ],
    [
      'a truncated file',
      () => {
        const offer = offerOf(served);
        served = served.subarray(0, 10);
        return offer;
      },
      /has 10 bytes, not the offered \d+ \(cut short\?\)/,
    ],
    [
      'a longer file than offered',
      () => offerOf(served, { sizeBytes: 5 }),
      /longer than the offered 5 bytes/,
    ],
    [
      'an executable that is another version',
      () => {
        served = script('0.8.0');
        return offerOf(served);
      },
      /says it is "0\.8\.0", not 0\.9\.0/,
    ],
    [
      'an executable that does not start',
      () => {
        served = Buffer.from('#!/nonexistent/interpreter\n');
        return offerOf(served);
      },
      /failed its trial run/,
    ],
    [
      'a file the server does not have',
      () => offerOf(served, { path: '/agent/download/nothing' }),
      /answered 404/,
    ],
    ['a file on another host', () => offerOf(served, { path: '//127.0.0.2/file' }), /is not on the server/],
  ])('refuses %s and keeps the old executable', async (_case, makeOffer, reason) => {
    const before = await readFile(target);
    const { upgrade, said, events } = upgrader();
    upgrade.offer(makeOffer());
    const failure = await waitFor('the failure', () => said.find((line) => line.includes('failed')));
    expect(failure, failure).toMatch(reason);
    expect(failure).toContain('the current executable keeps running');
    expect(events).toEqual([]);
    expect(await readFile(target)).toEqual(before);
    await waitFor('the staged file to be removed', async () =>
      (await stagedFiles()).length === 0 ? true : undefined,
    );
  });

  it('retries a failed offer only after a backoff, and a different offer at once', async () => {
    let now = Date.parse('2026-06-01T12:00:00Z');
    const { upgrade, said, events } = upgrader({ nowMs: () => now });
    const bad = offerOf(served, { sha256: 'e'.repeat(64) });
    upgrade.offer(bad);
    await waitFor('the failure', () => said.find((line) => line.includes('failed')));
    expect(said.join('\n')).toContain(`next try in ${retryBackoff.firstMs / 1000} s`);
    // The periodic offers repeat it: nothing is downloaded again until the backoff has passed.
    upgrade.offer(bad);
    upgrade.offer(bad);
    expect(requests).toBe(1);
    now += retryBackoff.firstMs + 1;
    upgrade.offer(bad);
    await waitFor('the second failure', () =>
      said.filter((line) => line.includes('failed')).length === 2 ? true : undefined,
    );
    expect(requests).toBe(2);
    expect(said.at(-1)).toContain(`next try in ${(2 * retryBackoff.firstMs) / 1000} s`);
    // The operator fixed the file: a new digest is a new offer, tried at once.
    upgrade.offer(offerOf(served));
    await waitFor('the restart', () => (events.includes('restart 0.9.0') ? true : undefined));
  });

  it('waits for its window, in the offered time zone', async () => {
    let now = Date.parse('2026-06-01T17:30:00Z'); // 01:30 in GMT+8:00
    const { upgrade, events } = upgrader({ nowMs: () => now });
    upgrade.offer(offerOf(served, { windows: ['02:00-03:00'], timeZone: 'GMT+8:00' }));
    // Several window checks pass without a download.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requests).toBe(0);
    now = Date.parse('2026-06-01T18:05:00Z'); // 02:05 there
    await waitFor('the restart', () => (events.includes('restart 0.9.0') ? true : undefined));
  });

  it('starts after a random delay within the jitter and the window', async () => {
    const delays: number[] = [];
    const { upgrade } = upgrader({
      jitterMs: 600_000,
      random: () => {
        delays.push(1);
        return 0.5;
      },
      nowMs: () => Date.parse('2026-06-01T02:55:00Z'),
    });
    upgrade.offer(offerOf(served, { windows: ['02:00-03:00'] }));
    // Half of at most half the 5 minutes left: 75 s, far from now; nothing is fetched yet.
    expect(delays).toEqual([1]);
    expect(requests).toBe(0);
    upgrade.stop();
  });

  it('restarts only once no task runs', async () => {
    let quiet = false;
    const { upgrade, said, events } = upgrader({ isQuiet: () => quiet });
    upgrade.offer(offerOf(served));
    await waitFor('the download', () => said.find((line) => line.includes('restarting when no task runs')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual([]);
    expect((await readFile(target)).toString()).toContain('0.2.0');
    quiet = true;
    await waitFor('the restart', () => (events.includes('restart 0.9.0') ? true : undefined));
  });

  it('ignores offers that are not newer than itself', async () => {
    const { upgrade, said } = upgrader({ version: '0.9.0' });
    upgrade.offer(offerOf(served));
    upgrade.offer(offerOf(served, { version: '0.8.0' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([requests, said]).toEqual([0, []]);
  });

  it('says once that it cannot replace itself when run from a checkout under node', async () => {
    const { upgrade, said } = upgrader({ selfUpgradable: false });
    upgrade.offer(offerOf(served));
    upgrade.offer(offerOf(served));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('cannot replace itself');
    expect(requests).toBe(0);
    expect(existsSync(target)).toBe(true);
  });
});
