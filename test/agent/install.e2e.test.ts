import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentExecutableName, buildAgentExecutable } from '../../src/agent/executable/build.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient, finishedResult, invocationResults } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { createTestRoot, type TestRoot, type TestRootResult } from '../helpers/test-root.js';

// install.sh as a user runs it: piped from the server into busybox sh with busybox wget, as root,
// in a chroot built from this machine's files that has no Node.js. The chroot shares the host's
// network, so the server listens on loopback. systemd cannot run in a chroot: a stand-in systemctl
// (test/fixtures/systemctl-stand-in.sh) records its calls and starts and stops ExecStart itself.

const run = promisify(execFile);
const slowMs = 180_000;
const executable = agentExecutableName();
const unitPath = '/etc/systemd/system/openassist-agent.service';
const standIn = new URL('../fixtures/systemctl-stand-in.sh', import.meta.url);

let dir: string;
let served: string;
let server: ServerProcess;
let client: EcsClient;
let root: TestRoot;
let activation: { id: string; code: string };
let instanceId = '';
let installOutput = '';
const versions = { first: '0.0.1-install.1', second: '0.0.1-install.2' };

const inRoot = (path: string): string => join(root.root, path);
/** Whether the path exists in the root, as itself (an absolute link points into the root, not the host). */
const present = (path: string): Promise<boolean> =>
  lstat(inRoot(path)).then(
    () => true,
    () => false,
  );
const wantsLink = '/etc/systemd/system/multi-user.target.wants/openassist-agent.service';
const mode = async (path: string): Promise<number> => (await stat(inRoot(path))).mode & 0o7777;
const sha256Of = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** Puts a build where the server serves it from, the checksum last (as a build replaces them). */
async function serve(buildDir: string): Promise<void> {
  for (const name of [executable, `${executable}.sha256`]) {
    await copyFile(join(buildDir, name), join(served, `${name}.tmp`));
    await rename(join(served, `${name}.tmp`), join(served, name));
  }
}

/** The user's line, typed into a shell in the root: the code comes from that shell's environment. */
async function installLine(
  args: string,
  code?: string,
  codeVia: 'env' | 'flag' = 'env',
): Promise<TestRootResult & { seconds: number }> {
  const started = performance.now();
  const codeEnv = code !== undefined && codeVia === 'env' ? 'OPENASSIST_ACTIVATION_CODE="$CODE" ' : '';
  const codeFlag = code !== undefined && codeVia === 'flag' ? ' --activation-code "$CODE"' : '';
  const result = await root.run(
    '/bin/sh',
    [
      '-c',
      `wget -qO- ${server.url}/agent/install.sh | ${codeEnv}sh -s --${args ? ` ${args}` : ''}${codeFlag}`,
    ],
    { env: code === undefined ? {} : { CODE: code } },
  );
  installOutput += result.stdout + result.stderr;
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

const instancesOfActivation = async () => {
  const { body } = await client.describeManagedInstances(
    new Ecs.DescribeManagedInstancesRequest({ regionId: 'cn-hangzhou', activationId: activation.id }),
  );
  return body?.instances ?? [];
};

async function runScript(script: string, timeout = 60): Promise<string> {
  const { body } = await client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: 'cn-hangzhou',
      type: 'RunShellScript',
      commandContent: script,
      instanceId: [instanceId],
      contentEncoding: 'PlainText',
      timeout,
    }),
  );
  return body?.invokeId ?? '';
}

/** Every regular file under `top` (device nodes, /proc and links are not files with content). */
async function filesUnder(top: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(top, { withFileTypes: true })) {
    const path = join(top, entry.name);
    if (entry.isDirectory() && path !== inRoot('proc') && path !== inRoot('dev')) {
      found.push(...(await filesUnder(path)));
    } else if (entry.isFile()) found.push(path);
  }
  return found;
}

/** Where the code shows up: files in the root, the root's processes' arguments and environments, output. */
async function placesHoldingCode(code: string): Promise<string[]> {
  const places: string[] = [];
  for (const file of await filesUnder(root.root)) {
    if ((await readFile(file)).includes(code)) places.push(file);
  }
  for (const pid of await root.processes()) {
    for (const part of ['cmdline', 'environ']) {
      const text = await readFile(`/proc/${pid}/${part}`).catch(() => Buffer.alloc(0));
      if (text.includes(code)) places.push(`/proc/${pid}/${part}`);
    }
  }
  if (installOutput.includes(code)) places.push('the output of install.sh');
  if (server.stdout().includes(code) || server.stderr().includes(code)) places.push("the server's log");
  return places;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openassist-install-'));
  served = join(dir, 'served');
  await mkdir(served);
  // Two builds of the agent: the one installed, and the one the same line upgrades it to.
  await buildAgentExecutable({ outDir: join(dir, 'first'), version: versions.first });
  await buildAgentExecutable({ outDir: join(dir, 'second'), version: versions.second });
  await serve(join(dir, 'first'));
  server = await startServerProcess({ env: { OPENASSIST_AGENT_DIR: served } });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const { body } = await client.createActivation(
    new Ecs.CreateActivationRequest({ regionId: 'cn-hangzhou', instanceCount: 5 }),
  );
  activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  // The executable's libraries, not the executable: install.sh downloads it.
  root = await createTestRoot(join(dir, 'root'), { librariesOf: [join(served, executable)] });
  await copyFile(standIn, inRoot('/usr/bin/systemctl'));
  await chmod(inRoot('/usr/bin/systemctl'), 0o755);
  await mkdir(inRoot('/run/systemd/system'), { recursive: true });
  await mkdir(inRoot('/var/log'), { recursive: true });
}, 2 * slowMs);

afterAll(async () => {
  await root?.dispose();
  expect(await server?.stop()).toBe(0);
  await rm(dir, { recursive: true, force: true });
});

describe('install.sh in a root without Node.js (busybox sh and wget)', { timeout: slowMs }, () => {
  it('says why when the server refuses the registration, and leaves the service stopped', async () => {
    const refused = await installLine(`--activation-id ${activation.id}`, 'a-not-the-code');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('registration refused: ActivationCode.Invalid');
    expect(await present(wantsLink)).toBe(false);
    expect(await present('/var/lib/openassist/activation-code')).toBe(false);
    expect(await root.processes()).toEqual([]);
    expect(await instancesOfActivation()).toEqual([]);
  });

  it('installs, registers and starts the agent, and prints the instance id', async () => {
    expect(existsSync(inRoot('/usr/bin/node'))).toBe(false);
    const install = await installLine(`--activation-id ${activation.id}`, activation.code);
    expect(install.status, install.stdout + install.stderr).toBe(0);
    instanceId = /connected as (mi-[0-9a-f]+)/.exec(install.stdout)?.[1] ?? '';
    console.log(`install on loopback (download, verify, start, connected): ${install.seconds.toFixed(2)} s`);

    const instances = await instancesOfActivation();
    expect(instances.map((instance) => instance.instanceId)).toEqual([instanceId]);
    expect(instances[0]?.agentVersion).toBe(versions.first);
    const invokeId = await runScript('echo "hello from $(. /etc/os-release; echo $NAME)"');
    expect(await finishedResult(client, invokeId, 60_000)).toMatchObject({
      invocationStatus: 'Success',
      output: 'hello from test root\n',
    });
  });

  it('wrote the executable, the state dir and the unit with the right modes and content', async () => {
    expect(await mode('/usr/local/bin/openassist-agent')).toBe(0o755);
    expect(await sha256Of(inRoot('/usr/local/bin/openassist-agent'))).toBe(
      await sha256Of(join(served, executable)),
    );
    // Created 0700 by the script; the agent gives it search-only to others (0711) so run-as users
    // reach their script files in work/, and keeps every file in it the owner's alone.
    expect(await mode('/var/lib/openassist')).toBe(0o711);
    for (const name of await readdir(inRoot('/var/lib/openassist'))) {
      const entry = await lstat(inRoot(`/var/lib/openassist/${name}`));
      if (entry.isFile()) expect(entry.mode & 0o777, name).toBe(0o600);
    }
    expect(existsSync(inRoot('/var/lib/openassist/activation-code'))).toBe(false);
    expect(await mode(unitPath)).toBe(0o644);
    const unit = await readFile(inRoot(unitPath), 'utf8');
    expect(unit).toContain(
      `\nExecStart=/usr/local/bin/openassist-agent --server ${server.url} --state-dir /var/lib/openassist` +
        ` --activation-id ${activation.id} --activation-code-file /var/lib/openassist/activation-code\n`,
    );
    expect(unit).toMatch(/\nRestart=always\n/);
    expect(unit).toMatch(/\nKillMode=process\n/);
    expect(unit).toMatch(/\nWantedBy=multi-user.target\n/);
    expect(await readlink(inRoot(wantsLink))).toBe(unitPath);
    // The refused attempt before left the same executable and unit: this install only started it.
    expect(await readFile(inRoot('/var/log/systemctl-stand-in.calls'), 'utf8')).toBe(
      [
        'daemon-reload',
        'enable openassist-agent.service',
        'restart openassist-agent.service',
        'disable --now openassist-agent.service',
        'daemon-reload',
        'enable openassist-agent.service',
        'start openassist-agent.service',
        '',
      ].join('\n'),
    );
  });

  it('wrote a unit systemd accepts (systemd-analyze verify)', async (context) => {
    const found = await run('sh', ['-c', 'command -v systemd-analyze']).catch(() => undefined);
    if (!found) context.skip('systemd-analyze is not installed here: the unit is checked by content only');
    // The units it depends on (multi-user.target, network-online.target …), as on any systemd machine.
    await cp('/usr/lib/systemd/system', inRoot('/usr/lib/systemd/system'), { recursive: true });
    const verified = await run('systemd-analyze', ['verify', `--root=${root.root}`, unitPath]);
    // A setting systemd does not understand is only a warning: none is allowed.
    expect(verified.stderr).toBe('');
  });

  it('the same line again upgrades in place: same identity and journal, a running task ends once', async () => {
    const identity = await readFile(inRoot('/var/lib/openassist/identity.json'));
    const stateFiles = (await readdir(inRoot('/var/lib/openassist'))).filter((name) => name !== 'status');
    expect(stateFiles.some((name) => name.startsWith('journal'))).toBe(true);
    const longRun = await runScript('echo started; sleep 300', 600);
    await waitFor('the long task to start', async () =>
      (await invocationResults(client, longRun))[0]?.output?.includes('started') ? true : undefined,
    );
    await serve(join(dir, 'second'));

    const upgrade = await installLine(`--activation-id ${activation.id}`, activation.code);
    expect(upgrade.status, upgrade.stdout + upgrade.stderr).toBe(0);
    expect(upgrade.stdout).toContain('already registered: upgrading in place');
    expect(upgrade.stdout).toContain(`connected as ${instanceId}`);
    console.log(`upgrade on loopback: ${upgrade.seconds.toFixed(2)} s`);

    expect(await readFile(inRoot('/var/lib/openassist/identity.json'))).toEqual(identity);
    expect(await readdir(inRoot('/var/lib/openassist'))).toEqual(expect.arrayContaining(stateFiles));
    const instances = await instancesOfActivation();
    expect(instances.map((instance) => [instance.instanceId, instance.agentVersion])).toEqual([
      [instanceId, versions.second],
    ]);
    // The agent stopped for the upgrade ended the running script and reported it, once.
    const ended = await finishedResult(client, longRun, 60_000);
    expect(ended.invocationStatus).toBe('Terminated');
    expect(ended.output).toBe('started\n');
    const again = await runScript('echo after the upgrade');
    expect(await finishedResult(client, again, 60_000)).toMatchObject({
      invocationStatus: 'Success',
      output: 'after the upgrade\n',
    });
    expect(await readFile(inRoot(unitPath), 'utf8')).not.toContain('--activation');
  });

  it('leaves the activation code nowhere: not on disk, not in ps, not in a log', async () => {
    // A control: the search finds the code where it is put.
    await writeFile(inRoot('/tmp/control'), `before${activation.code}after`);
    expect(await placesHoldingCode(activation.code)).toEqual([inRoot('/tmp/control')]);
    await rm(inRoot('/tmp/control'));
    expect(await placesHoldingCode(activation.code)).toEqual([]);
  });

  it('--uninstall stops the agent and removes the unit and executable; the instance stays', async () => {
    const uninstall = await installLine('--uninstall');
    expect(uninstall.status, uninstall.stdout + uninstall.stderr).toBe(0);
    expect(existsSync(inRoot(unitPath))).toBe(false);
    expect(await present(wantsLink)).toBe(false);
    expect(existsSync(inRoot('/usr/local/bin/openassist-agent'))).toBe(false);
    expect(await root.processes()).toEqual([]);
    expect((await instancesOfActivation()).map((instance) => instance.instanceId)).toEqual([instanceId]);
    expect(existsSync(inRoot('/var/lib/openassist/identity.json'))).toBe(true);
  });

  it('--uninstall --deregister removes the instance from the server, and the state dir', async () => {
    const uninstall = await installLine('--uninstall --deregister');
    expect(uninstall.status, uninstall.stdout + uninstall.stderr).toBe(0);
    expect(await instancesOfActivation()).toEqual([]);
    expect(existsSync(inRoot('/var/lib/openassist'))).toBe(false);
    expect(existsSync(inRoot('/usr/local/bin/openassist-agent'))).toBe(false);
    expect(await root.processes()).toEqual([]);
    expect(await placesHoldingCode(activation.code)).toEqual([]);
  });

  it('without systemd prints the command for another supervisor, which runs the agent as printed', async () => {
    await rm(inRoot('/run/systemd'), { recursive: true });
    // The flag form this time: shown in ps while the script runs, then nowhere.
    const install = await installLine(`--activation-id ${activation.id}`, activation.code, 'flag');
    expect(install.status, install.stdout + install.stderr).toBe(0);
    expect(install.stdout).toContain('systemd is not running here');
    const command = /^openassist-install: {3}(\S.*)$/m.exec(install.stdout)?.[1] ?? '';
    expect(command).toBe(
      `/usr/local/bin/openassist-agent --server ${server.url} --state-dir /var/lib/openassist` +
        ` --activation-id ${activation.id} --activation-code-file /var/lib/openassist/activation-code`,
    );
    expect(await present(unitPath)).toBe(false);

    const [program = '', ...args] = command.split(' ');
    const supervised = root.spawn(program, args);
    let output = '';
    supervised.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise((resolve) => supervised.on('exit', resolve));
    const supervisedId = await waitFor('the supervised agent to connect', () => {
      if (supervised.exitCode !== null) throw new Error(`the agent exited: ${output}`);
      return /connected as (mi-[0-9a-f]+)/.exec(output)?.[1];
    });
    expect((await instancesOfActivation()).map((instance) => instance.instanceId)).toEqual([supervisedId]);
    expect(await present('/var/lib/openassist/activation-code')).toBe(false);
    expect(await placesHoldingCode(activation.code)).toEqual([]);
    supervised.kill('SIGTERM');
    await exited;
  });
});
