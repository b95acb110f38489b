import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium (never a downloaded browser), headless, with a fresh profile Playwright makes
 * and removes; `extraArgs` add flags (such as a certificate pin).
 */
export async function launchChromium(
  extraArgs: readonly string[] = [],
): Promise<Browser & { [Symbol.asyncDispose](): Promise<void> }> {
  const executablePath = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  });
}
