/*
 * Screenshots of the "Release commands" tab against the running portal
 * (`bash scripts/start.sh`), in headless Chromium:
 *
 *   test/artifacts/tab.png          the demo shop's commands and runs
 *   test/artifacts/failed-run.png   a run of the demo image whose security
 *                                   check fails, with its log
 *   test/artifacts/runs.png         the tab again, with that run in the table
 *   test/artifacts/empty-state.png  the demo blog's tab while it has no
 *                                   commands: what they are for (skipped
 *                                   once it has some)
 *
 * Run: node -r @backstage/cli/config/nodeTransform.cjs scripts/screenshots.ts
 * Settings: APP_URL (http://localhost:3000), BACKEND_URL (http://localhost:7007),
 * CHROMIUM (/usr/bin/chromium). The page helpers are the end-to-end suite's
 * (test/e2e). When a step gives up, test/artifacts/failure.png
 * shows the page at that moment.
 *
 * Everything goes through the UI as a person would: sign in as guest, add the
 * demo commands that are missing, save, start a run from the dialog.
 */
import { mkdir, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import { Page } from 'playwright-core';
import { launchChromium, openSignedIn } from '@release-commands/test-utils';
import {
  BACKEND_URL,
  DEMO_COMMANDS,
  DEMO_IMAGE,
  addCommand,
  saveCommands,
  startRun,
  tabUrl,
  waitForCommands,
  waitForRunEnd,
} from '../test/e2e/src/releaseCommandsTab';

const TAB_URL = tabUrl('demo-shop');
const EMPTY_TAB_URL = tabUrl('demo-blog');
const ARTIFACTS = resolve(__dirname, '../test/artifacts');

/** The backend restarts when its sources change (`yarn start` watches them). */
async function waitForBackend() {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const healthy = await fetch(`${BACKEND_URL}/api/release-commands/health`)
      .then(res => res.ok)
      .catch(() => false);
    if (healthy) return;
    if (Date.now() > deadline) {
      throw new Error(
        `The backend at ${BACKEND_URL} did not answer in 2 minutes`,
      );
    }
    await sleep(1000);
  }
}

/** Adds, through the editor, the demo commands the list does not have yet. */
async function ensureDemoCommands(page: Page) {
  await waitForCommands(page);
  let added = 0;
  for (const command of DEMO_COMMANDS) {
    const present = await page
      .getByRole('cell', { name: command.command, exact: true })
      .count();
    if (present > 0) continue;
    await addCommand(page, command);
    added += 1;
  }
  if (added > 0) await saveCommands(page);
  console.log(`Demo commands: ${added} added, ${3 - added} already there`);
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  await rm(resolve(ARTIFACTS, 'failure.png'), { force: true });
  await waitForBackend();
  const browser = await launchChromium();
  const page = await browser.newPage({
    viewport: { width: 1440, height: 1100 },
  });
  page.setDefaultTimeout(30_000);
  try {
    await openSignedIn(page, TAB_URL);
    await ensureDemoCommands(page);
    await page.getByRole('button', { name: 'Run release commands' }).waitFor();
    await page.screenshot({
      path: resolve(ARTIFACTS, 'tab.png'),
      fullPage: true,
    });

    await startRun(page, { image: DEMO_IMAGE });
    await waitForRunEnd(page);
    console.log(`Run page: ${page.url()}`);
    await page.screenshot({
      path: resolve(ARTIFACTS, 'failed-run.png'),
      fullPage: true,
    });

    await page
      .getByRole('link', { name: 'All release commands and runs' })
      .click();
    await page.getByRole('cell', { name: DEMO_IMAGE }).first().waitFor();
    await page.screenshot({
      path: resolve(ARTIFACTS, 'runs.png'),
      fullPage: true,
    });

    // As a person gets there: through the catalog.
    await page.getByRole('link', { name: 'Catalog' }).first().click();
    await page.getByRole('link', { name: 'Demo blog' }).click();
    await page.getByText('Release commands', { exact: true }).first().click();
    await page.waitForURL(EMPTY_TAB_URL);
    await waitForCommands(page);
    if (await page.getByText('No release commands yet').isVisible()) {
      await page.screenshot({
        path: resolve(ARTIFACTS, 'empty-state.png'),
        fullPage: true,
      });
    }
    console.log(`Screenshots in ${ARTIFACTS}`);
  } catch (error) {
    // What the page showed when a step gave up, to see why.
    await page.screenshot({ path: resolve(ARTIFACTS, 'failure.png') });
    throw error;
  } finally {
    await browser.close();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
