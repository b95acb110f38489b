// Shared by the playground's browser tests: one playground (its own etcd) and one Chromium per
// test file, pages opened on a prefix, screenshots in test/artifacts/, and an axe-core check.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { after, before } from 'node:test';
import { Etcd } from 'etcd-fetch';
import type { Browser, Page } from 'playwright-core';
import { type Playground, startPlayground } from '../../scripts/playground.ts';
import { launchChromium } from './browser.ts';

export const artifacts = resolve(import.meta.dirname, '../artifacts');
export const WAIT = { timeout: 15_000 };
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface PlaygroundContext {
  playground: Playground;
  browser: Browser;
  close(): Promise<void>;
}

export async function startPlaygroundContext(
  options: Parameters<typeof startPlayground>[0] = {},
): Promise<PlaygroundContext> {
  mkdirSync(artifacts, { recursive: true });
  const playground = await startPlayground(options);
  const browser = await launchChromium();
  return {
    playground,
    browser,
    async close() {
      await browser.close();
      await playground.close();
    },
  };
}

/**
 * The playground of a suite and a client of its etcd: started before the suite's tests, closed
 * after them. Read `suite.context` and `suite.etcd` inside tests (they are set by then).
 */
export function usePlayground(): { readonly context: PlaygroundContext; readonly etcd: Etcd } {
  const suite = {} as { context: PlaygroundContext; etcd: Etcd };
  before(async () => {
    suite.context = await startPlaygroundContext();
    suite.etcd = new Etcd({ endpoints: suite.context.playground.etcdEndpoint });
  });
  after(async () => {
    suite.etcd?.close();
    await suite.context?.close();
  });
  return suite;
}

/** A page of the playground, connected, browsing `prefix` (page errors fail the test at the end). */
export async function openPlayground(
  context: PlaygroundContext,
  prefix: string,
  viewport = { width: 1400, height: 900 },
): Promise<Page> {
  const page = await context.browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('response', (response) => response.status() === 404 && errors.push(`404 ${response.url()}`));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(context.playground.url);
  await page.locator('#status.ok').waitFor(WAIT);
  await page.fill('#prefix', prefix);
  await page.click('#tree-form button');
  await page.locator('#tree [role="treeitem"]').first().waitFor(WAIT);
  return page;
}

/** No page error and no 404 happened on the page. */
export function assertNoPageErrors(page: Page): void {
  assert.deepEqual((page as Page & { errors?: string[] }).errors ?? [], []);
}

/** Where a screenshot named `name` goes: test/artifacts/, whatever the working folder. */
export const artifact = (name: string) => resolve(artifacts, name);

export const shot = (page: Page, name: string, fullPage = false) =>
  page.screenshot({ path: artifact(`${name}.png`), fullPage });

export const treeKey = (page: Page, key: string) => page.locator(`#tree [role="treeitem"][data-key="${key}"]`);
export const treeFolder = (page: Page, prefix: string) =>
  page.locator(`#tree [role="treeitem"][data-prefix="${prefix}"]`);

/** axe-core on `selector`: the serious and critical violations, as readable lines. */
export async function axeViolations(page: Page, selector: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async (selector) => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: string,
          ): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }>;
        };
      }
    ).axe;
    const result = await axe.run(selector);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  }, selector);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}
