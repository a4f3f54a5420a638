import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import { decodeFrame, frameType, terminalSize } from '../../src/protocol/session-frames.js';
import { chromiumFound, chromiumPath, laptopViewport, launchChromium } from './chromium.js';
import { type ConsoleFleet, regionId, startConsoleFleet } from './console-fleet.js';

// As console.browser.test.ts: in CI a missing Chromium fails the suite, elsewhere it is skipped.
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const runnable = chromiumFound() || inCi;

// Generous: two shared cores may be busy with other suites.
const slow = 60_000;

/** The frames one page sent on its session sockets, decoded. */
interface SentFrames {
  urls: string[];
  frames: { type: number; columns?: number; rows?: number }[];
}

async function signIn(page: Page, fleet: ConsoleFleet): Promise<void> {
  await page.goto(fleet.consoleUrl);
  await page.getByLabel('Access key ID', { exact: true }).fill(fleet.credentials.accessKeyId);
  await page.getByLabel('Access key secret', { exact: true }).fill(fleet.credentials.accessKeySecret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Instances' }).waitFor();
}

describe.runIf(runnable)(
  'terminal sessions in the web console, in Chromium against a real server and agent',
  { timeout: 3 * slow },
  () => {
    let fleet: ConsoleFleet;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let instanceId: string;
    let sessionId = '';
    const pageErrors: string[] = [];
    const sent: SentFrames = { urls: [], frames: [] };
    /** The console's assets the page fetched, by name. */
    const assets: string[] = [];
    const section = (name: string) =>
      page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
    const terminal = () => page.getByRole('region', { name: `Terminal on ${instanceId}` });
    const terminalStatus = () => page.getByTestId('terminal-status').textContent();
    /** What xterm.js shows: its DOM renderer writes the rows as text, one element each. */
    const screenText = (testId: string) => page.getByTestId(testId).locator('.xterm-rows').textContent();

    beforeAll(async () => {
      if (!chromiumFound())
        throw new Error(`the console tests need Chromium at ${chromiumPath} (apt-get install chromium)`);
      fleet = await startConsoleFleet();
      instanceId = fleet.agent.instanceId;
      browser = await launchChromium();
      context = await browser.newContext({ viewport: laptopViewport });
      page = await context.newPage();
      page.setDefaultTimeout(slow);
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) {
          pageErrors.push(message.text());
        }
      });
      page.on('request', (request) => {
        const path = new URL(request.url()).pathname;
        if (path.startsWith('/console/assets/')) assets.push(path.slice('/console/assets/'.length));
      });
      page.on('websocket', (socket) => {
        sent.urls.push(socket.url());
        socket.on('framesent', ({ payload }) => {
          if (typeof payload === 'string') return;
          const frame = decodeFrame(new Uint8Array(payload));
          if (!frame) return;
          sent.frames.push(
            frame.type === frameType.resize
              ? { type: frame.type, ...terminalSize(frame) }
              : { type: frame.type },
          );
        });
      });
      await signIn(page, fleet);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await fleet?.stop();
    });

    it('opens a terminal on the instance page: xterm.js loaded then, the token in the URL, the size first, output acknowledged', async () => {
      await page.getByRole('link', { name: instanceId }).click();
      await page.getByRole('heading', { level: 1, name: `Instance ${instanceId}` }).waitFor();
      // The agent's own state beside the facts (its health comes with its next heartbeat).
      const facts = () => page.locator('dl.facts').textContent();
      await expect
        .poll(facts)
        .toMatch(/Agent health(journal \d+ (KiB|MiB), \d+ events? not yet|not reported)/);
      await expect.poll(facts).toMatch(/Resource caps(none|applied|unavailable|not reported)/);
      // xterm.js is a chunk of its own, fetched when a terminal opens, not with every page.
      const xtermLoaded = () => assets.some((name) => /^xterm-\w+\.js$/.test(name));
      expect(xtermLoaded()).toBe(false);
      await page.getByRole('button', { name: 'Open terminal' }).click();
      await expect.poll(terminalStatus, { timeout: slow }).toBe('Connected');
      expect(xtermLoaded()).toBe(true);
      sessionId = (await terminal().getByRole('link', { name: /^s-/ }).textContent()) ?? '';
      expect(sessionId).toMatch(/^s-[0-9a-f]{32}$/);

      // Focus is in the terminal once it connects: keys go straight to the shell.
      await page.keyboard.type('echo hello-$((6*7))');
      await page.keyboard.press('Enter');
      await expect.poll(() => screenText('terminal-screen'), { timeout: slow }).toContain('hello-42');

      expect(sent.urls).toHaveLength(1);
      expect(sent.urls[0]).toMatch(
        new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/session/v1/${sessionId}\\?token=.+`),
      );
      const first = sent.frames[0];
      expect(first?.type).toBe(frameType.resize);
      expect(first?.columns).toBeGreaterThan(80);
      expect(first?.rows).toBeGreaterThan(10);
      expect(sent.frames.some((frame) => frame.type === frameType.data)).toBe(true);
      expect(sent.frames.some((frame) => frame.type === frameType.ack)).toBe(true);
    });

    it('sends the new size when the window resizes, and the shell sees it', async () => {
      const before = sent.frames.filter((frame) => frame.type === frameType.resize).length;
      await page.setViewportSize({ width: 1000, height: 700 });
      await expect
        .poll(() => sent.frames.filter((frame) => frame.type === frameType.resize).length, { timeout: slow })
        .toBeGreaterThan(before);
      const last = sent.frames.filter((frame) => frame.type === frameType.resize).at(-1);
      // The agent sets the pty's size as the frame arrives: asked again until the shell sees it.
      await expect
        .poll(
          async () => {
            await page.keyboard.type('echo size-$(stty size | tr " " x)\n');
            return screenText('terminal-screen');
          },
          { timeout: slow },
        )
        .toContain(`size-${last?.rows}x${last?.columns}`);
      await page.setViewportSize(laptopViewport);
    });

    it('lists the live session on the Sessions page (another tab, signed in there too)', async () => {
      const other = await context.newPage();
      try {
        await signIn(other, fleet);
        await other
          .getByRole('navigation', { name: 'Sections' })
          .getByRole('link', { name: 'Sessions' })
          .click();
        const row = other.locator(`tr[data-session="${sessionId}"]`);
        await row.getByText('Connected').waitFor();
        expect(await row.textContent()).toContain(instanceId);
      } finally {
        await other.close();
      }
    });

    it('shows the ClosedReason and the exit status once the shell exits', async () => {
      await page.keyboard.type('exit 3');
      await page.keyboard.press('Enter');
      await expect.poll(terminalStatus, { timeout: slow }).toBe('Session ended: ShellExited, exit status 3');
      await expect.poll(() => page.getByRole('button', { name: 'Open terminal' }).isEnabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'End session' }).count()).toBe(0);
    });

    it('lists the ended session, filtered by instance, with its reason', async () => {
      await section('Sessions').click();
      await page.getByRole('heading', { level: 1, name: 'Sessions' }).waitFor();
      await page.getByLabel('Instance ID', { exact: true }).fill(instanceId);
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => new URL(page.url()).hash).toBe(`#/sessions?instance=${instanceId}`);
      const row = page.locator(`tr[data-session="${sessionId}"]`);
      await row.getByText('Closed').waitFor();
      expect(await row.textContent()).toContain('ShellExited');

      await page.getByLabel('Instance ID', { exact: true }).fill('mi-nothing');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText('No sessions match.').waitFor();
    });

    it("replays the session's recording on its page", async () => {
      await page.goto(`${fleet.consoleUrl}#/sessions/${sessionId}`);
      await page.getByRole('heading', { level: 1, name: `Session ${sessionId}` }).waitFor();
      await page.getByTestId('session-status').getByText('Closed').waitFor();
      await expect
        .poll(() => page.getByTestId('recording-status').textContent(), { timeout: slow })
        .toMatch(/^Complete/);
      // xterm.js draws on the next animation frame after a write: the text may follow the status.
      await expect.poll(() => screenText('recording-screen')).toContain('hello-42');
      expect(await screenText('recording-screen')).toContain('exit 3');
    });

    it('pages the Sessions list with NextToken, forward and back', async () => {
      // 20 more sessions, started and ended through the API: with the first, two pages of 20.
      for (let i = 0; i < 20; i++) {
        const started = await invoke<{ SessionId: string }>(fleet.credentials, 'StartTerminalSession', {
          RegionId: regionId,
          'InstanceId.1': instanceId,
        });
        await invoke(fleet.credentials, 'EndTerminalSession', {
          RegionId: regionId,
          SessionId: started.SessionId,
        });
      }
      await page.goto(`${fleet.consoleUrl}#/sessions`);
      const pager = page.getByRole('navigation', { name: 'Session pages' });
      await pager.getByText('Page 1').waitFor();
      expect(await page.locator('tr[data-session]').count()).toBe(20);
      expect(await page.locator(`tr[data-session="${sessionId}"]`).count()).toBe(0);

      await pager.getByRole('button', { name: 'Next' }).click();
      await pager.getByText('Page 2').waitFor();
      // Newest first: the first session, the oldest, is on the last page.
      await page.locator(`tr[data-session="${sessionId}"]`).waitFor();
      expect(await pager.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

      await pager.getByRole('button', { name: 'Previous' }).click();
      await pager.getByText('Page 1').waitFor();
      await expect.poll(() => page.locator('tr[data-session]').count()).toBe(20);
    });

    it('passes output far larger than the window in a second session, each chunk acknowledged once rendered', async () => {
      await page.goto(`${fleet.consoleUrl}#/instances/${instanceId}`);
      await page.getByRole('button', { name: 'Open terminal' }).click();
      await expect.poll(terminalStatus, { timeout: slow }).toBe('Connected');
      // 3.1 MB through the pty (2.7 MB of digits, a \r\n a line): twelve windows of 256 KiB, so the
      // agent would stall without the page's acks.
      const acksBefore = sent.frames.filter((frame) => frame.type === frameType.ack).length;
      const startedMs = Date.now();
      await page.keyboard.type('seq 1 400000; echo end-$((6*7))\n');
      await expect.poll(() => screenText('terminal-screen'), { timeout: slow }).toContain('end-42');
      console.log(`3.1 MB of seq output shown in ${Date.now() - startedMs} ms`);
      const acks = sent.frames.filter((frame) => frame.type === frameType.ack).length - acksBefore;
      expect(acks).toBeGreaterThan(12);
      expect(await terminalStatus()).toBe('Connected');
    });

    it('ends a session with End session, after asking', async () => {
      await page.getByRole('button', { name: 'End session' }).click();
      const dialog = page.getByRole('alertdialog');
      await dialog.getByRole('button', { name: 'End session' }).click();
      await expect.poll(terminalStatus, { timeout: slow }).toMatch(/^Session ended: EndedByApi/);
    });

    it('serves the console with a policy that lets only style elements be inline', async () => {
      const policy = (await fetch(fleet.consoleUrl)).headers.get('content-security-policy') ?? '';
      const directives = new Map(
        policy.split(';').map((part) => {
          const [name = '', ...values] = part.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
      expect(directives.get('script-src')).toBe("'self'");
      expect(directives.get('style-src')).toBe("'self'");
      expect(directives.get('style-src-elem')).toBe("'self' 'unsafe-inline'");
      expect(directives.get('connect-src')).toBe("'self'");
    });

    it('broke no content security rule and threw nothing', () => {
      expect(pageErrors).toEqual([]);
    });
  },
);
