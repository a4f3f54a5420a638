import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumFound, chromiumPath, laptopViewport, launchChromium } from './chromium.js';
import { type ConsoleFleet, startConsoleFleet } from './console-fleet.js';

// As console.browser.test.ts: in CI a missing Chromium fails the suite, elsewhere it is skipped.
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const runnable = chromiumFound() || inCi;

// Generous: two shared cores may be busy with other suites.
const slow = 60_000;

describe.runIf(runnable)(
  'sending files from the web console, in Chromium against a real server and agent',
  {
    timeout: 3 * slow,
  },
  () => {
    let fleet: ConsoleFleet;
    let browser: Browser;
    let page: Page;
    let instanceId: string;
    let targetDir: string;
    const pageErrors: string[] = [];
    const sentActions: string[] = [];
    /** The parameters of each SendFile the page sent (all in the query string, as the SDK's). */
    const sendFileParams: URLSearchParams[] = [];
    const sends: { first?: string; refused?: string } = {};
    const section = (name: string) =>
      page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
    const invokeIdInUrl = () => decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    const alertText = (scope: { getByRole: Page['getByRole'] }) => scope.getByRole('alert').textContent();

    const openSendDialog = async () => {
      await section('Files').click();
      await page.getByRole('heading', { level: 1, name: 'Files' }).waitFor();
      await page.getByRole('button', { name: 'Send file' }).click();
      return page.getByRole('dialog', { name: 'Send a file' });
    };

    beforeAll(async () => {
      if (!chromiumFound())
        throw new Error(`the console tests need Chromium at ${chromiumPath} (apt-get install chromium)`);
      targetDir = await mkdtemp(join(tmpdir(), 'openassist-console-files-'));
      fleet = await startConsoleFleet();
      instanceId = fleet.agent.instanceId;
      browser = await launchChromium();
      page = await browser.newPage({ viewport: laptopViewport });
      page.setDefaultTimeout(slow);
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) {
          pageErrors.push(message.text());
        }
      });
      page.on('request', (request) => {
        const action = request.headers()['x-acs-action'];
        if (action) sentActions.push(action);
        if (action === 'SendFile') sendFileParams.push(new URL(request.url()).searchParams);
      });
      await page.goto(fleet.consoleUrl);
      await page.getByLabel('Access key ID', { exact: true }).fill(fleet.credentials.accessKeyId);
      await page.getByLabel('Access key secret', { exact: true }).fill(fleet.credentials.accessKeySecret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Instances' }).waitFor();
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await fleet?.stop();
      if (targetDir) await rm(targetDir, { recursive: true, force: true });
    });

    it('checks the form as the API does before sending anything', async () => {
      await section('Files').click();
      await page.getByText('No files sent match.').waitFor();
      const dialog = await openSendDialog();
      await dialog.getByLabel('File', { exact: true }).setInputFiles({
        name: 'app.conf',
        mimeType: 'text/plain',
        buffer: Buffer.from('port=8080\n'),
      });
      // The name follows the picked file.
      expect(await dialog.getByLabel('File name', { exact: true }).inputValue()).toBe('app.conf');
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await dialog.getByLabel('Target directory', { exact: true }).fill(targetDir);
      await dialog.getByLabel('Mode', { exact: true }).fill('u+rw');
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await expect.poll(() => alertText(dialog), { timeout: slow }).toMatch(/^InvalidFileMode\.Malformed: /);

      await dialog.getByLabel('Mode', { exact: true }).fill('0640');
      await dialog.getByLabel('Target directory', { exact: true }).fill('relative/dir');
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await expect.poll(() => alertText(dialog), { timeout: slow }).toMatch(/^InvalidTargetDir\.Malformed: /);
      expect(sentActions).not.toContain('SendFile');

      // A refusal only the server can make is shown with its code: a Windows path for a Linux instance.
      await dialog.getByLabel('Target directory', { exact: true }).fill('C:\\app');
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await expect.poll(() => alertText(dialog), { timeout: slow }).toMatch(/^InvalidInstance\.NotMatch: /);
      expect(sentActions).toContain('SendFile');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
    });

    it('sends a small file by instance id: it lands with its mode, and the send shows Success', async () => {
      const dialog = await openSendDialog();
      await dialog.getByLabel('File', { exact: true }).setInputFiles({
        name: 'app.conf',
        mimeType: 'text/plain',
        buffer: Buffer.from('port=8080\n'),
      });
      await dialog.getByLabel('Description', { exact: true }).fill('the app settings');
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await dialog.getByLabel('Target directory', { exact: true }).fill(targetDir);
      await dialog.getByLabel('Mode', { exact: true }).fill('0640');
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await page.waitForURL(/#\/files\/f-/);
      sends.first = invokeIdInUrl();

      await expect
        .poll(() => page.getByTestId('file-status').textContent(), { timeout: slow })
        .toBe('Success');
      const row = page.locator(`tr[data-instance="${instanceId}"]`);
      expect(await row.textContent()).toContain('Success');
      const facts = await page.locator('.facts').textContent();
      expect(facts).toContain(join(targetDir, 'app.conf'));
      expect(facts).toContain('0640');
      expect(facts).toContain('root:root');
      expect(facts).toContain('the app settings');

      const landed = join(targetDir, 'app.conf');
      expect(await readFile(landed, 'utf8')).toBe('port=8080\n');
      // Small enough to go in Content: no upload, and the default Timeout.
      expect(sentActions).not.toContain('CreateFileUpload');
      expect(sendFileParams.at(-1)?.get('Content')).toBe(Buffer.from('port=8080\n').toString('base64'));
      expect(sendFileParams.at(-1)?.get('Timeout')).toBe('60');
      expect((await stat(landed)).mode & 0o7777).toBe(0o640);
    });

    it('shows a refusal on the instance: the same name again without Overwrite, by tag, fails FileAlreadyExists', async () => {
      const dialog = await openSendDialog();
      await dialog.getByLabel('File', { exact: true }).setInputFiles({
        name: 'app.conf',
        mimeType: 'text/plain',
        buffer: Buffer.from('port=9090\n'),
      });
      // By tag: the fleet tagged the agent's instance env=staging; SendFile itself takes ids only.
      await dialog.getByLabel('Instances with a tag', { exact: true }).check();
      await dialog.getByLabel('Tag key', { exact: true }).fill('env');
      await dialog.getByLabel('Tag value', { exact: true }).fill('nowhere');
      await dialog.getByLabel('Target directory', { exact: true }).fill(targetDir);
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await expect
        .poll(() => alertText(dialog), { timeout: slow })
        .toBe('No instance carries the tag env=nowhere.');

      await dialog.getByLabel('Tag value', { exact: true }).fill('staging');
      expect(await dialog.getByLabel('Overwrite an existing file', { exact: true }).isChecked()).toBe(false);
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await page.waitForURL(/#\/files\/f-/);
      sends.refused = invokeIdInUrl();

      await expect
        .poll(() => page.getByTestId('file-status').textContent(), { timeout: slow })
        .toBe('Failed');
      const row = page.locator(`tr[data-instance="${instanceId}"]`);
      expect(await row.textContent()).toContain('FileAlreadyExists');
      expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe('port=8080\n');
    });

    it('overwrites when asked to', async () => {
      await writeFile(join(targetDir, 'motd'), 'old\n');
      const dialog = await openSendDialog();
      await dialog.getByLabel('File', { exact: true }).setInputFiles({
        name: 'motd.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('new\n'),
      });
      await dialog.getByLabel('File name', { exact: true }).fill('motd');
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await dialog.getByLabel('Target directory', { exact: true }).fill(targetDir);
      await dialog.getByLabel('Overwrite an existing file', { exact: true }).check();
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await page.waitForURL(/#\/files\/f-/);
      await expect
        .poll(() => page.getByTestId('file-status').textContent(), { timeout: slow })
        .toBe('Success');
      expect(await readFile(join(targetDir, 'motd'), 'utf8')).toBe('new\n');
      expect((await stat(join(targetDir, 'motd'))).mode & 0o7777).toBe(0o644);
    });

    it('sends a file over 32 KB through an upload, read in parts, with its progress shown', async () => {
      // Eight parts and a bit: 1 MiB each.
      const bytes = randomBytes(8 * 1024 * 1024 + 5);
      const dialog = await openSendDialog();
      await dialog.getByLabel('File', { exact: true }).setInputFiles({
        name: 'release.tar.gz',
        mimeType: 'application/gzip',
        buffer: bytes,
      });
      await dialog
        .getByText('release.tar.gz: 8,388,613 bytes, uploaded in parts before it is sent.')
        .waitFor();
      await dialog.getByRole('checkbox', { name: new RegExp(instanceId) }).check();
      await dialog.getByLabel('Target directory', { exact: true }).fill(targetDir);
      // Every state of the progress bar as the page draws it, recorded beside the page's own script.
      await page.evaluate(`
        window.progressSeen = [];
        new MutationObserver(() => {
          const bar = document.querySelector('dialog progress');
          if (bar) window.progressSeen.push([bar.labels[0]?.textContent ?? '', bar.value, bar.max]);
        }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      `);
      const partsBefore = sentActions.filter((action) => action === 'UploadFilePart').length;
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await page.waitForURL(/#\/files\/f-/);
      await expect
        .poll(() => page.getByTestId('file-status').textContent(), { timeout: slow })
        .toBe('Success');

      const landed = await readFile(join(targetDir, 'release.tar.gz'));
      expect(landed.equals(bytes)).toBe(true);
      expect(sentActions).toContain('CreateFileUpload');
      // By its UploadId, with a second per MiB (9, rounded up) on top of the 60 s default.
      expect(sendFileParams.at(-1)?.get('UploadId')).toMatch(/^up-/);
      expect(sendFileParams.at(-1)?.has('Content')).toBe(false);
      expect(sendFileParams.at(-1)?.get('Timeout')).toBe('69');
      expect(sentActions.filter((action) => action === 'UploadFilePart').length - partsBefore).toBe(9);
      const seen = await page.evaluate<[string, number, number][]>('window.progressSeen');
      const uploading = seen.filter(([label]) => label === 'Uploading release.tar.gz');
      expect(seen.some(([label]) => label === 'Reading release.tar.gz (SHA-256)')).toBe(true);
      expect(uploading.length).toBeGreaterThan(1);
      expect(uploading.every(([, , max]) => max === bytes.length)).toBe(true);
      expect(uploading.at(-1)?.[1]).toBe(bytes.length);
    });

    it('lists the sends with their statuses, filters them, and opens one', async () => {
      await section('Files').click();
      await page.getByRole('heading', { level: 1, name: 'Files' }).waitFor();
      const first = page.getByRole('row', { name: new RegExp(sends.first ?? 'missing') });
      const refused = page.getByRole('row', { name: new RegExp(sends.refused ?? 'missing') });
      await first.getByText('Success', { exact: true }).waitFor();
      await refused.getByText('Failed', { exact: true }).waitFor();
      expect(await refused.textContent()).toContain('1 Failed');
      expect(await page.getByRole('row').count()).toBe(1 + 4);

      await page.getByLabel('Status', { exact: true }).selectOption('Failed');
      await page.getByRole('button', { name: 'Apply' }).click();
      await first.waitFor({ state: 'detached' });
      await refused.waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
      await page.getByLabel('File name', { exact: true }).fill('motd');
      await page.getByRole('button', { name: 'Apply' }).click();
      await refused.waitFor({ state: 'detached' });
      expect(await page.getByRole('row').count()).toBe(1 + 1);

      await page.getByRole('button', { name: 'Clear' }).click();
      await refused.getByRole('link').click();
      await page.getByRole('heading', { level: 1, name: new RegExp(sends.refused ?? 'missing') }).waitFor();
      expect(await section('Files').getAttribute('aria-current')).toBe('page');
    });

    it('raised no page errors or policy violations', () => {
      expect(pageErrors).toEqual([]);
    });
  },
);
