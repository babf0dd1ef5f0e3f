import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Makes sure Debian's chromium is there (scripts/ensure-chromium.sh installs it when we are root) and says why not
 * otherwise. In CI a missing browser is a failure; elsewhere the browser tests skip with this reason.
 */
export function chromiumUnavailableReason(): string | undefined {
  if (fs.existsSync(CHROMIUM_PATH)) return undefined;
  const result = spawnSync('sh', [path.join(REPO_ROOT, 'scripts/ensure-chromium.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (fs.existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `chromium is not available at ${CHROMIUM_PATH}: ${(result.stderr || result.stdout || 'ensure-chromium.sh failed').trim()}`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Headless chromium, no network chatter of its own. Playwright gives every launch a fresh temporary profile (it
 * refuses an explicit --user-data-dir with `launch`), which is what we want.
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
    },
  };
}
