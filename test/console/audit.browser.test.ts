import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import { chromiumFound, chromiumPath, laptopViewport, launchChromium } from './chromium.js';
import { type ConsoleFleet, startConsoleFleet } from './console-fleet.js';

const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';
const runnable = chromiumFound() || inCi;
const slow = 60_000;

interface TrailEvent {
  eventName: string;
  eventSource: string;
  userAgent: string;
  userIdentity: { accessKeyId: string };
}

describe.runIf(runnable)('the console Audit page in Chromium', { timeout: 3 * slow }, () => {
  let fleet: ConsoleFleet;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!chromiumFound()) throw new Error(`the console tests need Chromium at ${chromiumPath}`);
    fleet = await startConsoleFleet();
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: laptopViewport })).newPage();
    page.setDefaultTimeout(slow);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  it("lists the trail, filters it, and tells the console's own calls from the API's", async () => {
    await page.goto(fleet.consoleUrl);
    await page.getByLabel('Access key ID', { exact: true }).fill(fleet.credentials.accessKeyId);
    await page.getByLabel('Access key secret', { exact: true }).fill(fleet.credentials.accessKeySecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Instances' }).waitFor();

    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
    // The fleet's own setup calls (through the API client) are in the trail.
    await page.locator('tr[data-event]').filter({ hasText: 'CreateActivation' }).first().waitFor();

    await page.getByLabel('Action').fill('TagResources');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(async () => [...new Set(await page.locator('tr[data-event] summary').allTextContents())])
      .toEqual(['TagResources']);

    const { Events } = await invoke<{ Events: TrailEvent[] }>(
      fleet.credentials,
      'LookupEvents',
      {
        'LookupAttribute.1.Key': 'EventName',
        'LookupAttribute.1.Value': 'DescribeManagedInstances',
        MaxResults: 50,
      },
      '2020-07-06',
    );
    const fromConsole = Events.filter((event) => event.eventSource === 'console');
    expect(fromConsole.length).toBeGreaterThan(0);
    expect(fromConsole[0]?.userAgent).toMatch(/Chrome/);
    expect(fromConsole[0]?.userIdentity.accessKeyId).toBe(fleet.credentials.accessKeyId);
    const setup = await invoke<{ Events: TrailEvent[] }>(
      fleet.credentials,
      'LookupEvents',
      { 'LookupAttribute.1.Key': 'EventName', 'LookupAttribute.1.Value': 'CreateActivation' },
      '2020-07-06',
    );
    expect(setup.Events.map((event) => event.eventSource)).toEqual(['api']);
  });
});
