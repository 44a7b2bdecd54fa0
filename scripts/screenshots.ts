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
 * CHROMIUM (/usr/bin/chromium). When a step gives up, test/artifacts/failure.png
 * shows the page at that moment.
 *
 * Everything goes through the UI as a person would: sign in as guest, add the
 * demo commands that are missing, save, start a run from the dialog.
 */
import { mkdir, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import { Page, chromium } from 'playwright-core';

const APP_URL = process.env.APP_URL ?? 'http://localhost:3000';
const BACKEND_URL = process.env.BACKEND_URL ?? 'http://localhost:7007';
const TAB_URL = `${APP_URL}/catalog/default/component/demo-shop/release-commands`;
const EMPTY_TAB_URL = `${APP_URL}/catalog/default/component/demo-blog/release-commands`;
const DEMO_IMAGE = 'release-commands-demo/shop:1';
const ARTIFACTS = resolve(__dirname, '../test/artifacts');
const DEMO_COMMANDS = [
  { label: 'Migrate database', command: './manage.sh migrate' },
  { label: 'Security checks', command: './manage.sh check-security' },
  { label: 'Fix tree', command: './manage.sh fix-tree' },
];

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

/**
 * Opens a page of the app, signing in as guest on the way: the sign-in page
 * shows in place of any page, and a reload asks again.
 */
async function openSignedIn(page: Page, url: string) {
  await page.goto(url);
  const guest = page.getByRole('button', { name: /enter/i });
  await guest.waitFor({ timeout: 120_000 });
  await guest.click();
  await guest.waitFor({ state: 'detached' });
}

/** Adds, through the editor, the demo commands the list does not have yet. */
async function ensureDemoCommands(page: Page) {
  await page
    .getByRole('table', { name: 'Release commands in run order' })
    .or(page.getByText('No release commands yet'))
    .waitFor({ timeout: 60_000 });

  let added = 0;
  for (const { label, command } of DEMO_COMMANDS) {
    const present = await page
      .getByRole('cell', { name: command, exact: true })
      .count();
    if (present > 0) continue;
    await page.getByRole('button', { name: /^Add (a )?command$/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a release command' });
    await dialog.getByLabel('Label').fill(label);
    await dialog.getByLabel('Command').fill(command);
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    added += 1;
  }
  if (added > 0) {
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('All changes saved.').waitFor();
  }
  console.log(`Demo commands: ${added} added, ${3 - added} already there`);
}

/** Starts a run of the demo image from the dialog and waits for its end. */
async function runAndWaitForFailure(page: Page) {
  await page.getByRole('button', { name: 'Run release commands' }).click();
  const dialog = page.getByRole('dialog', { name: 'Run release commands' });
  await dialog.getByLabel('Image').fill(DEMO_IMAGE);
  await dialog.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForURL(/[?&]run=/, { timeout: 30_000 }).catch(async () => {
    const refusal = await dialog.locator('.MuiAlert-message').textContent();
    throw new Error(`The run was not started: ${refusal}`);
  });
  await page
    .getByText('The run has ended; this is its whole log.')
    .waitFor({ timeout: 120_000 });
  // The steps refresh once more after the log's end.
  await page
    .getByRole('table', { name: 'Steps' })
    .getByText('Skipped')
    .waitFor({ timeout: 30_000 });
  console.log(`Run page: ${page.url()}`);
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  await rm(resolve(ARTIFACTS, 'failure.png'), { force: true });
  await waitForBackend();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
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

    await runAndWaitForFailure(page);
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

    // In-app navigation: a reload would ask to sign in again.
    await page.getByRole('link', { name: 'Catalog' }).first().click();
    await page.getByRole('link', { name: 'Demo blog' }).click();
    await page.getByText('Release commands', { exact: true }).first().click();
    await page.waitForURL(EMPTY_TAB_URL);
    const empty = page.getByText('No release commands yet');
    await empty
      .or(page.getByRole('table', { name: 'Release commands in run order' }))
      .waitFor();
    if (await empty.isVisible()) {
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
