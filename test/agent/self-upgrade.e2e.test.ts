import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentExecutableName, buildAgentExecutable } from '../../src/agent/executable/build.js';
import { version } from '../../src/version.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient, finishedResult, invocationResults } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// Done means: an agent one version behind is upgraded by the server inside its window, keeps its
// identity and journal and runs a task afterwards; a corrupted download is refused and the old
// agent keeps running.
const region = 'cn-hangzhou';
const oldVersion = '0.2.0';
const name = agentExecutableName();
/** The executable `npm run build` made: the server's own build, one version ahead of the old one. */
const builtExecutable = fileURLToPath(new URL(`../../dist/agent/${name}`, import.meta.url));

let work: string;
let agentDir: string;
let server: ServerProcess;
let client: EcsClient;
let loop: ChildProcess | undefined;
let output = '';
/** When each piece of the agents' output arrived, to time the restart. */
const heard: { atMs: number; text: string }[] = [];
const heardAt = (pattern: RegExp, afterMs = 0) =>
  heard.find((piece) => piece.atMs >= afterMs && pattern.test(piece.text))?.atMs;

const sha256Of = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/** A window of HH:mm-HH:mm in UTC that opened 30 minutes ago and stays open 90 minutes more. */
function windowAroundNow(): string {
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  return `${hhmm(Date.now() - 30 * 60_000)}-${hhmm(Date.now() + 90 * 60_000)}`;
}

const setUpgrades = (config: Record<string, unknown>) =>
  client.modifyCloudAssistantSettings(
    new Ecs.ModifyCloudAssistantSettingsRequest({
      regionId: region,
      settingType: 'AgentUpgradeConfig',
      agentUpgradeConfig: new Ecs.ModifyCloudAssistantSettingsRequestAgentUpgradeConfig(config),
    }),
  );

const status = async (instanceId: string) => {
  const { body } = await client.describeCloudAssistantStatus(
    new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: [instanceId] }),
  );
  return body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0];
};

const runCommand = async (instanceId: string, script: string, fields: Record<string, unknown> = {}) => {
  const { body } = await client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type: 'RunShellScript',
      commandContent: script,
      instanceId: [instanceId],
      timeout: 10,
      ...fields,
    }),
  );
  return body?.invokeId ?? '';
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'openassist-self-upgrade-'));
  // The server hands out a copy of the current build; its digest file is swapped during the test.
  agentDir = join(work, 'server-agents');
  const oldDir = join(work, 'installed');
  await mkdir(agentDir);
  await copyFile(builtExecutable, join(agentDir, name));
  const built = await buildAgentExecutable({ outDir: oldDir, version: oldVersion });
  expect(built.version).toBe(oldVersion);
  server = await startServerProcess({ env: { OPENASSIST_AGENT_DIR: agentDir } });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
}, 180_000);

afterAll(async () => {
  if (loop?.pid !== undefined && loop.exitCode === null) {
    const exited = new Promise((resolve) => loop?.once('exit', resolve));
    // The loop and the agent it runs are one process group: stop both, the agent cleanly.
    process.kill(-loop.pid, 'SIGTERM');
    await exited;
  }
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('upgrades from the server', () => {
  it('refuses a corrupted download and keeps running, then upgrades inside the window, keeping identity and journal', async () => {
    const installed = join(work, 'installed', name);
    const stateDir = join(work, 'state');
    const oldSha256 = await sha256Of(installed);
    // A digest that does not match the file: what a corrupted or tampered download looks like.
    await writeFile(join(agentDir, `${name}.sha256`), `${'0'.repeat(64)}  ${name}\n`);

    const { body: activation } = await client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region }),
    );
    // The stand-in for systemd's Restart=always: the loop starts the executable again when it exits
    // for an upgrade (status 75), and ends on anything else.
    loop = spawn(
      'sh',
      ['-c', 'while "$0" "$@"; [ $? -eq 75 ]; do echo "restarting the agent"; done', installed],
      {
        detached: true,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          OPENASSIST_AGENT_SERVER: server.url,
          OPENASSIST_AGENT_STATE_DIR: stateDir,
          OPENASSIST_ACTIVATION_ID: activation?.activationId ?? '',
          OPENASSIST_ACTIVATION_CODE: activation?.activationCode ?? '',
          OPENASSIST_AGENT_UPGRADE_JITTER_S: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      heard.push({ atMs: Date.now(), text: chunk.toString() });
    };
    loop.stdout?.on('data', collect);
    loop.stderr?.on('data', collect);
    const instanceId = await waitFor(
      'the old agent to connect',
      () => /connected as (mi-[0-9a-f]+)/.exec(output)?.[1],
      30_000,
    );
    expect((await status(instanceId))?.cloudAssistantVersion).toBe(oldVersion);

    // Before: a 10-second schedule the agent holds in its journal, and a task too new for 0.2.0.
    const schedule = await runCommand(instanceId, 'echo "tick $(date +%s)"', { frequency: '0/10 * * * * ?' });
    const tooNew = await runCommand(instanceId, 'echo in a container', { containerName: 'nothing-here' });
    expect((await invocationResults(client, tooNew))[0]).toMatchObject({
      invocationStatus: 'Invalid',
      errorCode: 'ClientNeedUpgrade',
    });

    // Enabled with a window around now: the offer comes at once, the download fails its check.
    await setUpgrades({ enabled: true, allowedUpgradeWindow: [windowAroundNow()], timeZone: 'UTC' });
    const refusal = await waitFor(
      'the refused download',
      () => /upgrade to agent \S+ failed[^\n]*/.exec(output)?.[0],
      60_000,
    );
    expect(refusal).toContain(`upgrade to agent ${version} failed, the current executable keeps running`);
    expect(refusal).toMatch(/sha256 is [0-9a-f]{64}, not the offered 0{64}/);
    expect(await sha256Of(installed)).toBe(oldSha256);
    expect(output).not.toContain('restarting the agent');
    const stillOld = await status(instanceId);
    expect([stillOld?.cloudAssistantVersion, stillOld?.cloudAssistantStatus]).toEqual([oldVersion, 'true']);
    expect((await finishedResult(client, await runCommand(instanceId, 'echo still here')))?.output).toBe(
      'still here\n',
    );

    // The operator puts the right digest in place: a new offer, tried at once (no backoff).
    const newSha256 = await sha256Of(join(agentDir, name));
    await writeFile(join(agentDir, `${name}.sha256`), `${newSha256}  ${name}\n`);
    // A task running when the upgrade is ready is not cut short: the swap waits for it.
    const running = await runCommand(instanceId, 'sleep 4; echo finished');
    await waitFor('the task to run', async () =>
      (await invocationResults(client, running))[0]?.invocationStatus === 'Running' ? true : undefined,
    );
    const enabledAt = Date.now();
    await setUpgrades({ enabled: true });
    await waitFor(
      'the upgrade',
      async () => ((await status(instanceId))?.cloudAssistantVersion === version ? true : undefined),
      120_000,
    );
    const upgradedMs = Date.now() - enabledAt;
    const fetchLine = /agent \S+ downloaded, verified and tried in (\d+) ms/.exec(output);
    const swappedAt = heardAt(/upgraded to agent/) ?? 0;
    const restartMs = (heardAt(/connected as/, swappedAt) ?? 0) - swappedAt;
    console.log(
      `self-upgrade: fetch + verify + trial ${fetchLine?.[1]} ms; swap to the new agent connected ${restartMs} ms; from the setting to the new version reported ${upgradedMs} ms`,
    );
    expect(output).toContain(`upgraded to agent ${version}; restarting`);
    const waited = await finishedResult(client, running);
    expect([waited.invocationStatus, waited.output, waited.errorCode]).toEqual(['Success', 'finished\n', '']);
    expect(Date.parse(waited.finishedTime ?? '')).toBeLessThanOrEqual(swappedAt);
    expect(output).toContain('restarting the agent');

    // Same file, new content; same identity (one instance, the same id); the journal kept the schedule.
    expect(await sha256Of(installed)).toBe(newSha256);
    expect(output.match(/connected as (mi-[0-9a-f]+)/g)?.every((line) => line.endsWith(instanceId))).toBe(
      true,
    );
    // Registered once, on the very first start.
    expect(output.match(/registered as mi-/g)).toHaveLength(1);
    expect(existsSync(join(stateDir, 'identity.json'))).toBe(true);
    const upgradedAt = Date.now();
    const runsAfter = await waitFor(
      'a run of the schedule by the new agent',
      async () => {
        const runs = await invocationResults(client, schedule, true);
        return runs.some((run) => Date.parse(run.startTime ?? '') > upgradedAt) ? runs : undefined;
      },
      40_000,
    );
    // No run twice: every run of the schedule has its own number.
    const numbers = runsAfter.map((run) => run.repeats);
    expect(new Set(numbers).size).toBe(numbers.length);

    // A task runs afterwards, and what needed the upgrade runs now.
    expect((await finishedResult(client, await runCommand(instanceId, 'echo upgraded')))?.output).toBe(
      'upgraded\n',
    );
    const again = await runCommand(instanceId, 'echo in a container', { containerName: 'nothing-here' });
    expect((await finishedResult(client, again))?.errorCode).not.toBe('ClientNeedUpgrade');
  }, 300_000);
});
