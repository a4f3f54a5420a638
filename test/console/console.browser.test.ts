import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
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

    it('runs the command on the agent and shows its output live through the stream', async () => {
      await page.getByRole('button', { name: 'Run console-hello' }).click();
      const dialog = page.getByRole('dialog', { name: 'Run console-hello' });
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await dialog.getByLabel('greeting', { exact: true }).fill('from-the-browser');
      await dialog.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForURL(/#\/invocations\/t-/);
      invokeIds.done = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');

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
      invokeIds.stopped = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');

      const log = page.getByRole('log', { name: `Output of ${instanceId}` });
      await expect.poll(() => log.textContent(), { timeout: slow }).toContain('started');
      await page.getByRole('button', { name: 'Stop invocation' }).click();
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

    it('edits and deletes commands', async () => {
      await section('Commands').click();
      await page.getByRole('button', { name: 'Edit console-hello' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit console-hello' });
      await edit.getByLabel('Description', { exact: true }).fill('edited in the browser');
      await edit.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('row', { name: /edited in the browser/ }).waitFor();

      await page.getByRole('button', { name: 'Delete console-long' }).click();
      await page
        .getByRole('dialog', { name: 'Delete console-long?' })
        .getByRole('button', { name: 'Delete' })
        .click();
      await page.getByRole('row', { name: /console-long/ }).waitFor({ state: 'detached' });
    });

    it('is keyboard reachable and raised no page errors or policy violations', async () => {
      await section('Instances').click();
      await page.getByRole('heading', { level: 1, name: 'Instances' }).waitFor();
      // Navigation puts focus on the page heading, so Tab moves on to the page's first control.
      expect(await focusedText()).toBe('Instances');
      await page.keyboard.press('Tab');
      expect(await focusedText()).toBe('Refresh');
      await page.keyboard.press('Shift+Tab');
      expect(await focusedText()).toBe('Sign out');
      expect(pageErrors).toEqual([]);
    });
  },
);
