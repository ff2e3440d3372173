import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`); Playwright never downloads a browser here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where screenshots go (gitignored; CI keeps it as a test artifact). */
export const ARTIFACTS_DIR = join(__dirname, '../../test-artifacts');

/**
 * Whether the browser tests can run. Without chromium they are skipped locally, with a warning
 * saying how to install it; on CI (`CI` set, where `.ci/run` installs it) they fail instead.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) {
    return true;
  }
  if (process.env.CI) {
    throw new Error(
      `${CHROMIUM_PATH} is missing on CI: .ci/run should have installed Debian's chromium`,
    );
  }
  console.warn(
    `${CHROMIUM_PATH} not found: skipping the browser tests. Install it with ` +
      '`sudo apt-get install chromium` to run them.',
  );
  return false;
}

/** Launches headless chromium with flags that suit a container (no sandbox, GPU or /dev/shm). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * A fresh context shaped like a phone: 390x844 CSS pixels at 2x, touch, mobile viewport.
 * Every Playwright wait in it is bounded by `timeoutMs`.
 */
export async function newPhoneContext(
  browser: Browser,
  timeoutMs = 15_000,
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  context.setDefaultTimeout(timeoutMs);
  context.setDefaultNavigationTimeout(timeoutMs);
  return context;
}

/**
 * Saves what the phone's screen shows as `test-artifacts/<name>.png` and returns its path.
 * The viewport, not the full page: a full-page capture draws fixed bars (the STOP ALL bar)
 * in the middle of the scrolled content, which no phone ever shows.
 */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
