import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import { registerIdentity } from '../helpers/protocol-agent.js';
import { chromiumFound, chromiumPath, laptopViewport, launchChromium } from './chromium.js';
import { type ConsoleFleet, regionId, startConsoleFleet } from './console-fleet.js';

// In CI a missing Chromium fails the suite; on a developer's machine it is skipped with a reason.
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const runnable = chromiumFound() || inCi;
if (!runnable) {
  console.warn(
    `console browser tests skipped: no Chromium at ${chromiumPath} (apt-get install chromium, or set OPENASSIST_CHROMIUM)`,
  );
}

// Generous: two shared cores may be busy with other suites.
const slow = 60_000;

describe.runIf(runnable)(
  'web console in Chromium against a real server and agent',
  { timeout: 3 * slow },
  () => {
    let fleet: ConsoleFleet;
    let browser: Browser;
    let page: Page;
    let instanceId: string;
    const pageErrors: string[] = [];
    const sentActions: string[] = [];
    const sentText: string[] = [];
    const invokeIds: { done?: string; stopped?: string } = {};
    const section = (name: string) =>
      page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
    const focusedText = () => page.evaluate<string>("document.activeElement?.textContent ?? ''");
    const invokeIdInUrl = () => decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    /** The text of one column of an instance's row on the invocation page, found by its header. */
    const cellText = async (instance: string, column: string): Promise<string> => {
      const headers = await page.getByRole('columnheader').allTextContents();
      // The first header names the row headers (the instance ids); cells count from the second.
      const index = headers.indexOf(column) - 1;
      const row = page.locator(`tr[data-instance="${instance}"]`);
      return (await row.getByRole('cell').nth(index).textContent()) ?? '';
    };
    /** An API time as the page shows it: in the browser's zone and locale. */
    const shownTime = (iso: string) => page.evaluate((time) => new Date(time).toLocaleString(), iso);

    beforeAll(async () => {
      if (!chromiumFound())
        throw new Error(`the console tests need Chromium at ${chromiumPath} (apt-get install chromium)`);
      fleet = await startConsoleFleet();
      instanceId = fleet.agent.instanceId;
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: laptopViewport, acceptDownloads: true });
      page = await context.newPage();
      page.setDefaultTimeout(slow);
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        // CSP violations are reported on the console; failed API calls (a wrong key) are expected there.
        if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) {
          pageErrors.push(message.text());
        }
      });
      page.on('request', (request) => {
        const action = request.headers()['x-acs-action'];
        if (action) sentActions.push(action);
        sentText.push(request.url(), JSON.stringify(request.headers()), request.postData() ?? '');
      });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await fleet?.stop();
    });

    it('serves the page and its hashed assets with a strict policy and the right caching', async () => {
      const index = await fetch(fleet.consoleUrl);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      const policy = index.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("default-src 'none'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("connect-src 'self'");
      const html = await index.text();
      const script = /src="(\/console\/assets\/main-[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${fleet.server.url}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(asset.headers.get('cache-control')).toContain('immutable');
      expect((await fetch(`${fleet.server.url}/console/assets/nothing.js`)).status).toBe(404);
    });

    it('refuses a wrong key with the API message, then signs in with the right one', async () => {
      await page.goto(fleet.consoleUrl);
      const keyId = page.getByLabel('Access key ID', { exact: true });
      const secret = page.getByLabel('Access key secret', { exact: true });
      const signIn = page.getByRole('button', { name: 'Sign in' });

      await keyId.fill(fleet.credentials.accessKeyId);
      await secret.fill('not-the-secret');
      await signIn.click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), { timeout: slow })
        .toContain('SignatureDoesNotMatch');

      await keyId.fill('LTAInobody');
      await signIn.click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), { timeout: slow })
        .toContain('InvalidAccessKeyId.NotFound');

      await keyId.fill(fleet.credentials.accessKeyId);
      await secret.fill(fleet.credentials.accessKeySecret);
      await signIn.click();
      await page.getByRole('heading', { level: 1, name: 'Instances' }).waitFor();
      // Kept for this tab only, and never sent: every request carries a signature instead.
      const stored = await page.evaluate<string>("sessionStorage.getItem('openassist.session') ?? ''");
      expect(stored).toContain(fleet.credentials.accessKeyId);
      expect(await page.evaluate<number>('localStorage.length')).toBe(0);
      expect(sentText.join('\n')).not.toContain(fleet.credentials.accessKeySecret);
    });

    it('lists the live agent on the instances page', async () => {
      const row = page.getByRole('row', { name: new RegExp(instanceId) });
      await row.waitFor();
      await row.getByText('Online').waitFor();
      await row.getByText('env=staging').waitFor();
      expect(await row.textContent()).toContain('web-1');
    });

    it("shows each agent's resource caps as it applied them, and its plugins (none)", async () => {
      const row = page.getByRole('row', { name: new RegExp(instanceId) });
      const cell = async (column: string) => {
        const headers = await page.getByRole('columnheader').allTextContents();
        return (
          (await row
            .getByRole('cell')
            .nth(headers.indexOf(column) - 1)
            .textContent()) ?? ''
        );
      };
      const refreshedUntil = async (column: string, wanted: RegExp) => {
        await expect
          .poll(
            async () => {
              await page.getByRole('button', { name: 'Refresh' }).click();
              return cell(column);
            },
            { timeout: slow },
          )
          .toMatch(wanted);
      };
      await refreshedUntil('Resource caps', /^noneplugins: none$/);
      const setUsage = (config: Record<string, unknown>) =>
        invoke(fleet.credentials, 'ModifyCloudAssistantSettings', {
          RegionId: regionId,
          SettingType: 'ResourceUsageConfig',
          ResourceUsageConfig: JSON.stringify(config),
        });
      await setUsage({ MemoryLimit: '1024MB' });
      try {
        // Applied where the cgroups can be written; the documented fallback says why where not.
        await refreshedUntil(
          'Resource caps',
          /^(applied: memory 1024 MiB \(cgroup[12]\)|unavailable: .*cgroup.*)plugins: none$/,
        );
      } finally {
        await setUsage({ MemoryLimit: '' });
      }
      await refreshedUntil('Resource caps', /^noneplugins: none$/);
    });

    it('adds a machine: creates an activation and shows the line that installs the agent with it', async () => {
      await page.getByRole('button', { name: 'Add machine' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add a machine' });
      await dialog.getByLabel('Machines that may register').fill('2');
      await dialog.getByRole('button', { name: 'Create activation' }).click();
      const installLine = dialog.getByLabel('Install line');
      await installLine.waitFor();
      const line = await installLine.inputValue();
      const parts =
        /^curl -fsSL (\S+)\/agent\/install\.sh \| OPENASSIST_ACTIVATION_CODE=(a-\S+) sh -s -- --activation-id (\S+)$/.exec(
          line,
        );
      expect(parts?.[1], line).toBe(fleet.credentials.endpoint);
      const listed = await invoke<{ ActivationList: { ActivationId: string; InstanceCount: number }[] }>(
        fleet.credentials,
        'DescribeActivations',
        { RegionId: regionId, ActivationId: parts?.[3] ?? '' },
      );
      expect(listed.ActivationList).toEqual([expect.objectContaining({ InstanceCount: 2 })]);
      await dialog.getByRole('button', { name: 'Done' }).click();
      await dialog.waitFor({ state: 'hidden' });
    });

    it('creates a command from the form', async () => {
      await section('Commands').click();
      await page.getByRole('heading', { level: 1, name: 'Commands' }).waitFor();
      await page.getByRole('button', { name: 'New command' }).click();
      const dialog = page.getByRole('dialog', { name: 'New command' });
      await dialog.getByLabel('Name', { exact: true }).fill('console-hello');
      await dialog.getByLabel('Description', { exact: true }).fill('greets, waits, greets again');
      // The pause between the two lines is what shows the output arriving live.
      await dialog
        .getByLabel('Script', { exact: true })
        .fill('echo "first {{greeting}}"\nsleep 8\necho second\n');
      await dialog.getByLabel('Enable parameters', { exact: true }).check();
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByRole('row', { name: /console-hello/ }).waitFor();
    });

    it('previews a schedule live in the run dialog', async () => {
      await page.getByRole('button', { name: 'Run console-hello' }).click();
      const dialog = page.getByRole('dialog', { name: 'Run console-hello' });
      await dialog.getByLabel('On a schedule', { exact: true }).check();
      const frequency = dialog.getByLabel('Frequency', { exact: true });
      await frequency.fill('rate(5m)');
      await expect.poll(() => dialog.locator('.next-runs li').count(), { timeout: slow }).toBe(5);
      await frequency.fill('every now and then');
      await dialog.locator('.preview .error').waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
    });

    it('keeps the Run button in view and clickable at 1366×768 with the schedule preview open', async () => {
      // Four parameters and the preview make the form taller than the window.
      await invoke(fleet.credentials, 'CreateCommand', {
        RegionId: regionId,
        Name: 'console-release',
        Type: 'RunShellScript',
        CommandContent: Buffer.from('echo {{service}} {{version}} {{channel}} {{region}}\n').toString(
          'base64',
        ),
        EnableParameter: true,
      });
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByRole('button', { name: 'Run console-release' }).click();
      const dialog = page.getByRole('dialog', { name: 'Run console-release' });
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      for (const name of ['service', 'version', 'channel', 'region']) {
        await dialog.getByLabel(name, { exact: true }).fill(`a-${name}`);
      }
      await dialog.getByLabel('On a schedule', { exact: true }).check();
      await dialog.getByLabel('Frequency', { exact: true }).fill('rate(30m)');
      await expect.poll(() => dialog.locator('.next-runs li').count(), { timeout: slow }).toBe(5);
      // Where the button is now, without scrolling anything: inside the window and the topmost element there.
      const run = dialog.getByRole('button', { name: 'Run', exact: true });
      const box = await run.evaluate((button) => {
        const rect = button.getBoundingClientRect();
        const x = rect.left + rect.width / 2;
        const y = rect.top + rect.height / 2;
        return {
          top: rect.top,
          bottom: rect.bottom,
          x,
          y,
          hit: button.ownerDocument.elementFromPoint(x, y) === button,
        };
      });
      expect(box.top).toBeGreaterThanOrEqual(0);
      expect(box.bottom).toBeLessThanOrEqual(laptopViewport.height);
      expect(box.hit).toBe(true);
      await page.mouse.click(box.x, box.y);
      await page.waitForURL(/#\/invocations\/t-/);
      const scheduled = invokeIdInUrl();
      await expect
        .poll(() => page.getByTestId('invocation-status').textContent(), { timeout: slow })
        .toBe('Scheduled');
      await invoke(fleet.credentials, 'StopInvocation', { RegionId: regionId, InvokeId: scheduled });
      await section('Commands').click();
      await page.getByRole('heading', { level: 1, name: 'Commands' }).waitFor();
    });

    it('runs the command on the agent and shows its output live through the stream', async () => {
      await page.getByRole('button', { name: 'Run console-hello' }).click();
      const dialog = page.getByRole('dialog', { name: 'Run console-hello' });
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await dialog.getByLabel('greeting', { exact: true }).fill('from-the-browser');
      await dialog.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForURL(/#\/invocations\/t-/);
      invokeIds.done = invokeIdInUrl();

      const log = page.getByRole('log', { name: `Output of ${instanceId}` });
      await expect.poll(() => log.textContent(), { timeout: slow }).toContain('first from-the-browser');
      // The first line is on the page while the script still sleeps: it came live, not at the end.
      expect(await log.textContent()).not.toContain('second');
      expect(sentActions).toContain('StreamInvocationOutput');

      await expect.poll(() => log.textContent(), { timeout: slow }).toContain('second');
      const row = page.locator(`tr[data-instance="${instanceId}"]`);
      await expect.poll(() => row.textContent(), { timeout: slow }).toContain('Success');
      await expect
        .poll(() => page.getByTestId('invocation-status').textContent(), { timeout: slow })
        .toBe('Success');
    });

    it('downloads the full output', async () => {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: `Download full output of ${instanceId}` }).click(),
      ]);
      expect(download.suggestedFilename()).toBe(`${invokeIds.done}-${instanceId}.log`);
      expect(await readFile(await download.path(), 'utf8')).toBe('first from-the-browser\nsecond\n');
    });

    it('shows when a run that ended on its own started and finished, as the API has them', async () => {
      const listed = await invoke<{
        Invocations: { Invocation: { InvokeInstances: { InvokeInstance: Record<string, string>[] } }[] };
      }>(fleet.credentials, 'DescribeInvocations', { RegionId: regionId, InvokeId: invokeIds.done ?? '' });
      const run = listed.Invocations.Invocation[0]?.InvokeInstances.InvokeInstance[0];
      expect(run?.FinishTime).toMatch(/^\d{4}-\d\d-\d\dT/);
      await expect
        .poll(() => cellText(instanceId, 'Finished'), { timeout: slow })
        .toBe(await shownTime(run?.FinishTime ?? ''));
      expect(await cellText(instanceId, 'Started')).toBe(await shownTime(run?.StartTime ?? ''));
    });

    it('runs a long command by tag and stops it', async () => {
      await invoke(fleet.credentials, 'CreateCommand', {
        RegionId: regionId,
        Name: 'console-long',
        Type: 'RunShellScript',
        CommandContent: Buffer.from('echo started\nsleep 600\n').toString('base64'),
        Timeout: 3600,
      });
      await section('Commands').click();
      await page.getByRole('button', { name: 'Run console-long' }).click();
      const dialog = page.getByRole('dialog', { name: 'Run console-long' });
      // By tag this time: the fleet tagged the agent's instance env=staging.
      await dialog.getByLabel('Instances with a tag', { exact: true }).check();
      await dialog.getByLabel('Tag key', { exact: true }).fill('env');
      await dialog.getByLabel('Tag value', { exact: true }).fill('staging');
      await dialog.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForURL(/#\/invocations\/t-/);
      invokeIds.stopped = invokeIdInUrl();

      const log = page.getByRole('log', { name: `Output of ${instanceId}` });
      await expect.poll(() => log.textContent(), { timeout: slow }).toContain('started');

      // Stop asks first; the safe answer has the focus, and Cancel (or Escape) stops nothing.
      const stopButton = page.getByRole('button', { name: 'Stop invocation' });
      const confirm = page.getByRole('alertdialog', { name: `Stop invocation ${invokeIds.stopped}?` });
      await stopButton.click();
      await confirm.waitFor();
      expect(await focusedText()).toBe('Cancel');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await stopButton.click();
      await confirm.waitFor();
      await page.keyboard.press('Escape');
      await confirm.waitFor({ state: 'hidden' });
      expect(sentActions).not.toContain('StopInvocation');
      // The status is refreshed apart from the output stream: it may still read Pending for a moment.
      await expect
        .poll(() => page.getByTestId('invocation-status').textContent(), { timeout: slow })
        .toBe('Running');

      await stopButton.click();
      await confirm.waitFor();
      expect(await confirm.textContent()).toContain('This cannot be undone.');
      await confirm.getByRole('button', { name: 'Stop', exact: true }).click();
      await confirm.waitFor({ state: 'hidden' });
      const row = page.locator(`tr[data-instance="${instanceId}"]`);
      await expect.poll(() => row.textContent(), { timeout: slow }).toContain('Terminated');
      await expect
        .poll(() => page.getByTestId('invocation-status').textContent(), { timeout: slow })
        .toBe('Stopped');
      await page.getByRole('button', { name: 'Stop invocation' }).waitFor({ state: 'detached' });
    });

    it('lists both invocations with their statuses, and filters them', async () => {
      await section('Invocations').click();
      await page.getByRole('heading', { level: 1, name: 'Invocations' }).waitFor();
      const done = page.getByRole('row', { name: new RegExp(invokeIds.done ?? 'missing') });
      const stopped = page.getByRole('row', { name: new RegExp(invokeIds.stopped ?? 'missing') });
      await done.getByText('Success', { exact: true }).waitFor();
      await stopped.getByText('Stopped', { exact: true }).waitFor();
      expect(await stopped.textContent()).toContain('1 Terminated');

      await page.getByLabel('Status', { exact: true }).selectOption('Stopped');
      await page.getByRole('button', { name: 'Apply' }).click();
      await done.waitFor({ state: 'detached' });
      await stopped.waitFor();

      await stopped.getByRole('link').click();
      await page
        .getByRole('heading', { level: 1, name: new RegExp(invokeIds.stopped ?? 'missing') })
        .waitFor();
    });

    it('runs an ad-hoc script from the instances page without saving a command', async () => {
      await section('Instances').click();
      await page.getByRole('heading', { level: 1, name: 'Instances' }).waitFor();
      await page.getByRole('button', { name: 'Run script' }).click();
      const dialog = page.getByRole('dialog', { name: 'Run a script' });
      await dialog.getByLabel('Name', { exact: true }).fill('console-adhoc');
      await dialog.getByLabel('Type', { exact: true }).selectOption('RunShellScript');
      await dialog.getByLabel('Script', { exact: true }).fill('echo "adhoc {{who}}"\npwd\n');
      await dialog.getByLabel('Enable parameters', { exact: true }).check();
      await dialog.getByLabel('who', { exact: true }).fill('from-a-script');
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await dialog.getByLabel('Timeout (seconds)', { exact: true }).fill('120');
      await dialog.getByLabel('Working directory', { exact: true }).fill('/tmp');
      // A rolling run's limits (an extension): sent as typed, shown back by DescribeInvocations.
      await dialog.getByLabel('At most at once', { exact: true }).fill('1');
      await dialog.getByLabel('Stop after failures', { exact: true }).fill('0');
      await dialog.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForURL(/#\/invocations\/t-/);
      const adhoc = invokeIdInUrl();
      expect(sentActions).toContain('RunCommand');

      const log = page.getByRole('log', { name: `Output of ${instanceId}` });
      await expect.poll(() => log.textContent(), { timeout: slow }).toBe('adhoc from-a-script\n/tmp\n');
      await expect
        .poll(() => page.getByTestId('invocation-status').textContent(), { timeout: slow })
        .toBe('Success');
      const listed = await invoke<{
        Invocations: {
          Invocation: {
            CommandName: string;
            Timeout: number;
            Parameters: string;
            MaxConcurrency: string;
            MaxErrors: string;
          }[];
        };
      }>(fleet.credentials, 'DescribeInvocations', { RegionId: regionId, InvokeId: adhoc });
      expect(listed.Invocations.Invocation[0]).toMatchObject({
        CommandName: 'console-adhoc',
        Timeout: 120,
        Parameters: JSON.stringify({ who: 'from-a-script' }),
        MaxConcurrency: '1',
        MaxErrors: '0',
      });
      // Nothing saved: the script ran as a one-off command.
      const commands = await invoke<{ Commands: { Command: { Name: string }[] } }>(
        fleet.credentials,
        'DescribeCommands',
        { RegionId: regionId, Name: 'console-adhoc' },
      );
      expect(commands.Commands.Command).toEqual([]);
    });

    it('pages through more instances than fit one page, on the instances page and in the run dialog', async () => {
      const activation = await invoke<{ ActivationId: string; ActivationCode: string }>(
        fleet.credentials,
        'CreateActivation',
        { RegionId: regionId, InstanceCount: 60 },
      );
      // Registered after the real agent, so they are newer and the real agent moves to page 2.
      for (let i = 0; i < 55; i++) {
        await registerIdentity(
          fleet.server.url,
          { id: activation.ActivationId, code: activation.ActivationCode },
          { hostname: `bulk-${i}` },
        );
      }
      await section('Instances').click();
      await page.getByRole('button', { name: 'Refresh' }).click();
      const pager = page.getByRole('navigation', { name: 'Instance pages' });
      await pager.getByText('Page 1 of 2 (56 in all)').waitFor();
      const agentRow = page.getByRole('row', { name: new RegExp(instanceId) });
      expect(await agentRow.count()).toBe(0);
      await pager.getByRole('button', { name: 'Next' }).click();
      await pager.getByText('Page 2 of 2 (56 in all)').waitFor();
      await agentRow.getByText('Online').waitFor();
      expect(await page.getByRole('row').count()).toBe(1 + 6);
      await pager.getByRole('button', { name: 'Previous' }).click();
      await pager.getByText('Page 1 of 2 (56 in all)').waitFor();

      // The run dialog lists instances page by page too, and keeps what was chosen across pages.
      await page.getByRole('button', { name: 'Run script' }).click();
      const dialog = page.getByRole('dialog', { name: 'Run a script' });
      await dialog.getByLabel('Script', { exact: true }).fill('echo paged\n');
      const choices = dialog.getByRole('navigation', { name: 'Instance pages' });
      await choices.getByText('Page 1 of 2 (56 in all)').waitFor();
      await dialog.getByRole('checkbox', { name: /bulk-54/ }).check();
      await choices.getByRole('button', { name: 'Next' }).click();
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await choices.getByRole('button', { name: 'Previous' }).click();
      expect(await dialog.getByRole('checkbox', { name: /bulk-54/ }).isChecked()).toBe(true);
      await dialog.getByText('2 instances chosen').waitFor();
      await dialog.getByRole('checkbox', { name: /bulk-54/ }).uncheck();
      await dialog.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForURL(/#\/invocations\/t-/);
      const log = page.getByRole('log', { name: `Output of ${instanceId}` });
      await expect.poll(() => log.textContent(), { timeout: slow }).toBe('paged\n');
    });

    it('edits and deletes commands', async () => {
      await section('Commands').click();
      await page.getByRole('button', { name: 'Edit console-hello' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit console-hello' });
      await edit.getByLabel('Description', { exact: true }).fill('edited in the browser');
      await edit.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('row', { name: /edited in the browser/ }).waitFor();

      // The question says what will happen, not what has happened; Cancel keeps the command.
      const confirm = page.getByRole('alertdialog', { name: 'Delete command console-long?' });
      await page.getByRole('button', { name: 'Delete console-long' }).click();
      await confirm.waitFor();
      expect(await confirm.textContent()).toContain('This cannot be undone.');
      expect(await confirm.textContent()).not.toMatch(/is deleted/);
      expect(await focusedText()).toBe('Cancel');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      expect(sentActions).not.toContain('DeleteCommand');
      await page.getByRole('button', { name: 'Delete console-long' }).click();
      await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.getByRole('row', { name: /console-long/ }).waitFor({ state: 'detached' });
    });

    it('is keyboard reachable and raised no page errors or policy violations', async () => {
      await section('Instances').click();
      await page.getByRole('heading', { level: 1, name: 'Instances' }).waitFor();
      // Navigation puts focus on the page heading, so Tab moves on to the page's first control.
      expect(await focusedText()).toBe('Instances');
      await page.keyboard.press('Tab');
      expect(await focusedText()).toBe('Run script');
      await page.keyboard.press('Shift+Tab');
      expect(await focusedText()).toBe('Sign out');
      expect(pageErrors).toEqual([]);
    });
  },
);
