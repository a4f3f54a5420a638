import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium; another build with OPENASSIST_CHROMIUM. Playwright's own downloads are never used. */
export const chromiumPath = process.env.OPENASSIST_CHROMIUM || '/usr/bin/chromium';

export const chromiumFound = (): boolean => existsSync(chromiumPath);

/**
 * Headless, and quiet on the network: without the background-networking flags Chromium keeps
 * trying Google's hosts. Playwright gives every launch a fresh, empty user data dir.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The console's pages are laid out for a laptop screen. */
export const laptopViewport = { width: 1366, height: 768 } as const;
