// axe-core on one panel of the playground in both themes, and screenshots kept for the README.
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { artifact, axeViolations } from './playground-page.ts';

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

/**
 * Where a screenshot the README shows is saved: `docs/images` (committed; keep each under 200 KB)
 * with `UPDATE_README_IMAGES=1`, else `test/artifacts`, so that a test run leaves the tree as it was.
 */
export function readmeImage(name: string): string {
  return process.env.UPDATE_README_IMAGES === '1'
    ? resolve(import.meta.dirname, '../../docs/images', name)
    : artifact(name);
}
