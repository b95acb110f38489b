// axe-core on one panel of the playground in both themes, and screenshots kept for the README.
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { axeViolations } from './playground-page.ts';

/** The serious and critical axe violations of `selector`, in the light theme and the dark one. */
export async function axeInBothThemes(page: Page, selector: string): Promise<string[]> {
  const failures: string[] = [];
  const before = await page.evaluate(() => document.documentElement.dataset.theme);
  for (const theme of ['light', 'dark']) {
    await page.evaluate((theme) => {
      document.documentElement.dataset.theme = theme;
    }, theme);
    for (const violation of await axeViolations(page, selector)) failures.push(`${theme} ${selector}: ${violation}`);
  }
  await page.evaluate((theme) => {
    document.documentElement.dataset.theme = theme ?? 'light';
  }, before);
  return failures;
}

/** Where the README's screenshots live (committed; keep each under 200 KB). */
export const docsImages = resolve(import.meta.dirname, '../../docs/images');
