import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { invoke } from '../../src/client/api.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { chromiumFound, chromiumPath, laptopViewport, launchChromium } from './chromium.js';
import { type ConsoleFleet, regionId, startConsoleFleet } from './console-fleet.js';

/**
 * `npm run screenshots`: a real server and two agents with a few commands, invocations and files, the
 * console signed in, and one 1366×768 PNG per page in docs/console/ (the README shows them).
 */
const outDir = fileURLToPath(new URL('../../../docs/console/', import.meta.url));
const base64 = (text: string) => Buffer.from(text).toString('base64');

async function secondAgent(fleet: ConsoleFleet): Promise<AgentProcess> {
  const activation = await invoke<{ ActivationId: string; ActivationCode: string }>(
    fleet.credentials,
    'CreateActivation',
    { RegionId: regionId, InstanceName: 'db-1' },
  );
  return startAgentProcess({
    serverUrl: fleet.server.url,
    activationId: activation.ActivationId,
    activationCode: activation.ActivationCode,
  });
}

/** Commands and invocations in every state the pages show, made through the API. */
async function seed(fleet: ConsoleFleet, instanceIds: string[]): Promise<{ running: string }> {
  const call = <T = Record<string, unknown>>(action: string, params: Record<string, string | number>) =>
    invoke<T>(fleet.credentials, action, { RegionId: regionId, ...params });
  const command = async (name: string, description: string, script: string, extra = {}) =>
    (
      await call<{ CommandId: string }>('CreateCommand', {
        Name: name,
        Description: description,
        Type: 'RunShellScript',
        CommandContent: base64(script),
        ...extra,
      })
    ).CommandId;
  const disk = await command('disk-usage', 'Free space on every mount', 'df -h');
  const deploy = await command(
    'deploy-release',
    'Pulls and restarts one release',
    'echo "deploying {{version}} to $(hostname)"\nfor step in fetch unpack migrate restart; do echo "step: $step"; sleep 1; done\necho done',
    { EnableParameter: 'true', Timeout: 600 },
  );
  const tail = await command(
    'follow-log',
    'Prints a heartbeat line every 2 s',
    'while true; do date; sleep 2; done',
    {
      Timeout: 3600,
    },
  );
  const targets = Object.fromEntries(instanceIds.map((id, i) => [`InstanceId.${i + 1}`, id]));
  const finished = await call<{ InvokeId: string }>('InvokeCommand', { CommandId: disk, ...targets });
  await call('InvokeCommand', {
    CommandId: deploy,
    ...targets,
    Parameters: JSON.stringify({ version: 'v2.4.1' }),
  });
  const stopped = await call<{ InvokeId: string }>('InvokeCommand', { CommandId: tail, ...targets });
  await call('StopInvocation', { InvokeId: stopped.InvokeId });
  await call('InvokeCommand', { CommandId: disk, ...targets, Frequency: 'rate(30m)' });
  const running = await call<{ InvokeId: string }>('InvokeCommand', {
    CommandId: deploy,
    'InstanceId.1': instanceIds[0] ?? '',
    Parameters: JSON.stringify({ version: 'v2.5.0' }),
  });
  await waitFor(
    'the first invocation to finish',
    async () => {
      const page = await call<{ Invocations: { Invocation: { InvocationStatus: string }[] } }>(
        'DescribeInvocations',
        { InvokeId: finished.InvokeId },
      );
      return page.Invocations.Invocation[0]?.InvocationStatus === 'Success' ? true : undefined;
    },
    60_000,
  );
  return { running: running.InvokeId };
}

/**
 * Files sent to the agents, one refused, so the Files page has rows and a send's page an error.
 * One instance per send: both agents share this machine's disk, which no two instances do.
 */
async function seedFiles(fleet: ConsoleFleet, instanceIds: string[], targetDir: string): Promise<string> {
  const send = async (instanceId: string, name: string, content: string, mode: string) =>
    (
      await invoke<{ InvokeId: string }>(fleet.credentials, 'SendFile', {
        RegionId: regionId,
        'InstanceId.1': instanceId,
        Name: name,
        Content: base64(content),
        ContentType: 'Base64',
        TargetDir: targetDir,
        FileMode: mode,
      })
    ).InvokeId;
  const [web = '', db = ''] = instanceIds;
  const sent = [
    await send(web, 'nginx.conf', 'worker_processes auto;\n', '0644'),
    await send(db, 'deploy.env', 'RELEASE=v2.5.0\n', '0600'),
  ];
  await waitForSends(fleet, sent, 'Success');
  // The same name again without Overwrite: the instance refuses it (FileAlreadyExists).
  const refused = await send(web, 'nginx.conf', 'worker_processes 4;\n', '0644');
  await waitForSends(fleet, [refused], 'Failed');
  return refused;
}

async function waitForSends(fleet: ConsoleFleet, invokeIds: string[], status: string): Promise<void> {
  for (const invokeId of invokeIds) {
    await waitFor(
      `file send ${invokeId} to end ${status}`,
      async () => {
        const page = await invoke<{ Invocations: { Invocation: { InvocationStatus: string }[] } }>(
          fleet.credentials,
          'DescribeSendFileResults',
          { RegionId: regionId, InvokeId: invokeId },
        );
        return page.Invocations.Invocation[0]?.InvocationStatus === status ? true : undefined;
      },
      60_000,
    );
  }
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${outDir}${name}.png` });
  console.log(`wrote docs/console/${name}.png`);
}

/** A shell on the first agent from its instance page, a few commands typed into it; its session's pages. */
async function shootTerminal(page: Page, fleet: ConsoleFleet): Promise<void> {
  await page.goto(`${fleet.consoleUrl}#/instances/${fleet.agent.instanceId}`);
  await page.getByRole('button', { name: 'Open terminal' }).click();
  await page.getByTestId('terminal-status').getByText('Connected').waitFor();
  const screen = page.getByTestId('terminal-screen').locator('.xterm-rows');
  const prompts = async () => ((await screen.textContent()) ?? '').match(/[#$] /g)?.length ?? 0;
  const morePrompts = (than: number) => async () => ((await prompts()) > than ? true : undefined);
  // Each line typed after the prompt, so the picture shows no type-ahead echoed early.
  await waitFor('the shell prompt', morePrompts(0), 60_000);
  for (const line of ['echo hello-$((6*7))', 'uname -sm', 'ls -l /etc/os-release /etc/hostname']) {
    const before = await prompts();
    await page.keyboard.type(`${line}\n`);
    await waitFor(`the prompt after ${line}`, morePrompts(before), 60_000);
  }
  await shoot(page, 'terminal');
  const sessionId = (await page.getByRole('link', { name: /^s-/ }).textContent()) ?? '';
  await page.keyboard.type('exit\n');
  await page
    .getByTestId('terminal-status')
    .getByText(/^Session ended/)
    .waitFor();

  await page.goto(`${fleet.consoleUrl}#/sessions`);
  await page.locator(`tr[data-session="${sessionId}"]`).getByText('Closed').waitFor();
  await shoot(page, 'sessions');

  await page.goto(`${fleet.consoleUrl}#/sessions/${sessionId}`);
  await page
    .getByTestId('recording-status')
    .getByText(/^Complete/)
    .waitFor();
  await shoot(page, 'session');
}

async function main(): Promise<void> {
  if (!chromiumFound()) throw new Error(`no Chromium at ${chromiumPath} (apt-get install chromium)`);
  await mkdir(outDir, { recursive: true });
  const fleet = await startConsoleFleet();
  const agents = [fleet.agent];
  const browser = await launchChromium();
  const targetDir = await mkdtemp(join(tmpdir(), 'openassist-screenshots-'));
  try {
    agents.push(await secondAgent(fleet));
    const { running } = await seed(
      fleet,
      agents.map((agent) => agent.instanceId),
    );
    const page = await browser.newPage({ viewport: laptopViewport });
    page.setDefaultTimeout(60_000);

    await page.goto(fleet.consoleUrl);
    await page.getByLabel('Access key ID', { exact: true }).fill(fleet.credentials.accessKeyId);
    await page.getByLabel('Access key secret', { exact: true }).fill(fleet.credentials.accessKeySecret);
    await shoot(page, 'sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page
      .getByRole('row', { name: new RegExp(fleet.agent.instanceId) })
      .getByText('Online')
      .waitFor();
    await shoot(page, 'instances');

    await page.goto(`${fleet.consoleUrl}#/commands`);
    await page.getByRole('row', { name: /deploy-release/ }).waitFor();
    await shoot(page, 'commands');

    await page.getByRole('button', { name: 'Run deploy-release' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run deploy-release' });
    await dialog.getByRole('checkbox', { name: new RegExp(fleet.agent.instanceId) }).check();
    await dialog.getByLabel('version', { exact: true }).fill('v2.5.1');
    await dialog.getByLabel('On a schedule', { exact: true }).check();
    await dialog.getByLabel('Frequency', { exact: true }).fill('0 0 3 ? * MON-FRI Asia/Shanghai');
    await dialog.locator('.next-runs li').nth(4).waitFor();
    await shoot(page, 'run-dialog');
    await page.keyboard.press('Escape');

    await page.goto(`${fleet.consoleUrl}#/invocations`);
    await page.getByRole('row', { name: new RegExp(running) }).waitFor();
    await shoot(page, 'invocations');

    await page.goto(`${fleet.consoleUrl}#/invocations/${running}`);
    const log = page.getByRole('log', { name: `Output of ${fleet.agent.instanceId}` });
    await waitFor(
      'the running deploy to print its steps',
      async () => ((await log.textContent())?.includes('step: migrate') ? true : undefined),
      60_000,
    );
    await shoot(page, 'invocation');

    const refused = await seedFiles(
      fleet,
      agents.map((agent) => agent.instanceId),
      targetDir,
    );
    await page.goto(`${fleet.consoleUrl}#/files`);
    await page.getByRole('row', { name: /deploy\.env/ }).waitFor();
    await page.getByRole('button', { name: 'Send file' }).click();
    const send = page.getByRole('dialog', { name: 'Send a file' });
    await send.getByLabel('File', { exact: true }).setInputFiles({
      name: 'app.conf',
      mimeType: 'text/plain',
      buffer: Buffer.from('listen 8080\nworkers 4\n'),
    });
    await send.getByLabel('Description', { exact: true }).fill('Settings of the web tier');
    await send.getByLabel('Instances with a tag', { exact: true }).check();
    await send.getByLabel('Tag key', { exact: true }).fill('role');
    await send.getByLabel('Tag value', { exact: true }).fill('web');
    await send.getByLabel('Target directory', { exact: true }).fill('/etc/app');
    await send.getByLabel('Owner', { exact: true }).fill('www-data');
    await send.getByLabel('Group', { exact: true }).fill('www-data');
    await send.getByLabel('Mode', { exact: true }).fill('0640');
    await send.getByLabel('Overwrite an existing file', { exact: true }).check();
    await shoot(page, 'send-file');
    await page.keyboard.press('Escape');

    await page.goto(`${fleet.consoleUrl}#/files/${refused}`);
    await page.getByTestId('file-status').getByText('Failed').waitFor();
    await shoot(page, 'file');

    await shootTerminal(page, fleet);
  } finally {
    await rm(targetDir, { recursive: true, force: true });
    await browser.close();
    for (const agent of agents.slice(1)) await agent.stop();
    await fleet.stop();
  }
}

await main();
