/*
 * The whole product end to end: the portal started as the README starts it,
 * driven in headless Chromium as a person would, running release commands
 * on the real Docker engine with a demo image built from scratch. The
 * scenarios build on each other and run in order.
 */
import {
  ReleaseCommandList,
  ReleaseCommandRun,
  releaseCommandPresets,
} from '@release-commands/backstage-plugin-release-commands-common';
import { requireDocker } from '@release-commands/test-utils';
import path from 'node:path';
import { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { rebuildDemoImage } from './demoImage';
import { Portal, startPortal } from './portal';
import {
  APP_URL,
  DEMO_COMMANDS,
  DEMO_IMAGE,
  addCommand,
  commandRows,
  commandsTable,
  openSignedIn,
  saveCommands,
  startRun,
  tabUrl,
  waitForCommands,
  waitForLogLines,
  waitForRunEnd,
} from './releaseCommandsTab';
import { ARTIFACTS, Scenario, clearArtifacts } from './Scenario';

const SHOP = 'demo-shop';
/** Stands for the service the Django template creates (examples/entities.yaml). */
const DJANGO = 'demo-django';
const [MIGRATE, SECURITY, FIX_TREE] = DEMO_COMMANDS;
const commandsPath = (name: string) =>
  `/api/release-commands/entities/component/default/${name}/commands`;

// Docker, the image build and the first compile of the app.
jest.setTimeout(12 * 60_000);

let portal: Portal | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  clearArtifacts();
  const docker = await requireDocker();
  const buildStarted = Date.now();
  const created = await rebuildDemoImage(docker);
  // Docker keeps whole seconds of the creation time.
  if (created.getTime() < buildStarted - 1000) {
    throw new Error(
      `${DEMO_IMAGE} was created at ${created.toISOString()}, before this suite rebuilt it`,
    );
  }

  browser = await launchChromium();
  portal = startPortal({
    logFile: path.join(ARTIFACTS, 'portal.log'),
    entities: [SHOP, DJANGO],
  });
  await portal.ready();
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

const scenario = (name: string, body: (s: Scenario) => Promise<void>) =>
  Scenario.run(browser!, name, body);

const toRows = (commands: Array<{ label: string; command: string }>) =>
  commands.map(({ label, command }) => ({
    label,
    command,
    source: 'Added by you',
  }));

it('1. edits the commands: adds three, reorders them, saves, and finds them after a reload', async () => {
  await scenario('1-edit-commands', async s => {
    const page = await s.newPage();
    await openSignedIn(page, tabUrl(SHOP));
    // Each suite starts on a database of its own.
    await page.getByText('No release commands yet').waitFor();

    for (const command of [FIX_TREE, SECURITY, MIGRATE]) {
      await addCommand(page, command);
    }
    expect(await commandRows(page)).toEqual(
      toRows([FIX_TREE, SECURITY, MIGRATE]),
    );

    // By mouse: the drag handle of the last row onto the first.
    await page
      .getByTestId('drag-handle-3')
      .dragTo(page.getByTestId('command-row-1'));
    expect(await commandRows(page)).toEqual(
      toRows([MIGRATE, FIX_TREE, SECURITY]),
    );
    // By keyboard: the move buttons.
    await page
      .getByRole('button', { name: `Move ${FIX_TREE.label} down` })
      .click();
    expect(await commandRows(page)).toEqual(toRows(DEMO_COMMANDS));

    await saveCommands(page);
    await page.reload();
    await commandsTable(page).waitFor();
    expect(await commandRows(page)).toEqual(toRows(DEMO_COMMANDS));

    const stored = await portal!.api<ReleaseCommandList>(commandsPath(SHOP));
    expect(
      stored.commands.map(({ label, command, source, enabled }) => ({
        label,
        command,
        source,
        enabled,
      })),
    ).toEqual(
      DEMO_COMMANDS.map(c => ({ ...c, source: 'user', enabled: true })),
    );
    await s.screenshot(page);
  });
});

it('2. runs them on the demo image: a live log, the failing check fails the run, the last step is skipped', async () => {
  await scenario('2-run', async s => {
    const page = await s.newPage();
    await openSignedIn(page, tabUrl(SHOP));
    await waitForCommands(page);

    const { runId, dialogImage } = await startRun(page);
    // Offered from the entity's release-commands/image annotation.
    expect(dialogImage).toBe(DEMO_IMAGE);

    // The log as it is written: the heading, then each step.
    await waitForLogLines(page, [
      '===== docker release commands =====',
      `[1/3] ${MIGRATE.label}: ${MIGRATE.command}`,
      '  Applying shop.0003_stock... OK',
      `[1/3] ${MIGRATE.label} passed (exit 0`,
      `[2/3] ${SECURITY.label}: ${SECURITY.command}`,
      'gateway server            ... failed (HTTPS not enforced; no exemptions)',
      `[2/3] ${SECURITY.label} failed (exit 1`,
      `[3/3] ${FIX_TREE.label} skipped`,
      `Release commands failed: "${SECURITY.label}" exited with code 1. The deployment must not proceed.`,
    ]);
    await waitForRunEnd(page);

    const reason = `"${SECURITY.label}" exited with code 1.`;
    await page.getByRole('alert').getByText(reason).waitFor();
    const steps = page.getByRole('table', { name: 'Steps' });
    const step = (n: number) => steps.getByTestId(`step-${n}`);
    await step(1).getByText('Succeeded').waitFor();
    await step(2).getByText('Failed').waitFor();
    await step(2).getByText('exit 1').waitFor();
    await step(3).getByText('Skipped').waitFor();
    await s.screenshot(page, 'log');

    const run = await portal!.api<ReleaseCommandRun>(
      `/api/release-commands/runs/${runId}`,
    );
    expect(run).toMatchObject({ status: 'failed', image: DEMO_IMAGE, reason });
    expect(run.steps.map(x => x.status)).toEqual([
      'succeeded',
      'failed',
      'skipped',
    ]);

    // The history: the run, with its reason.
    await page
      .getByRole('link', { name: 'All release commands and runs' })
      .click();
    const row = page
      .getByRole('row')
      .filter({ has: page.locator(`a[href$="run=${runId}"]`) });
    await row.getByText('Failed', { exact: true }).waitFor();
    await row.getByText(DEMO_IMAGE).waitFor();
    await row.getByText(reason).waitFor();
    await s.screenshot(page);
  });
});

it("3. creates a service from the Django template: its tab lists the framework's defaults with their source", async () => {
  await scenario('3-template', async s => {
    const page = await s.newPage();
    await openSignedIn(page, `${APP_URL}/create`);

    // Template cards have no accessible name of their own.
    await page
      .locator('.MuiCard-root')
      .filter({ has: page.getByRole('heading', { name: 'Django service' }) })
      .getByRole('button', { name: 'Choose' })
      .click();
    await page.getByRole('textbox', { name: 'Name' }).fill(DJANGO);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Django (migrate)' }).waitFor();
    await page.getByRole('button', { name: 'Review' }).click();
    await page.getByRole('button', { name: 'Create' }).click();

    await page.waitForURL(/\/create\/tasks\//);
    // The template's output shows once every step has finished.
    await page
      .getByText(`component:default/${DJANGO} has 2 release commands`)
      .waitFor({ timeout: 120_000 });
    await page.getByRole('link', { name: 'Release commands' }).click();
    await page.waitForURL(tabUrl(DJANGO));

    const django = releaseCommandPresets.find(p => p.id === 'django')!;
    expect(await commandRows(page)).toEqual([
      ...django.commands.map(({ label, command }) => ({
        label,
        command,
        source: 'Framework default',
      })),
      {
        label: 'Check deployment settings',
        command: 'python manage.py check --deploy',
        source: 'Template',
      },
    ]);
    await s.screenshot(page);
  });
});

it('4. refuses a save from a stale copy: the second editor sees the conflict and nothing is lost', async () => {
  const first = { label: 'Warm caches', command: './manage.sh warm-caches' };
  const second = { label: 'Notify the team', command: './manage.sh notify' };
  const labels = async (page: Page) =>
    (await commandRows(page)).map(row => row.label);

  await scenario('4-conflict', async s => {
    const alice = await s.newPage();
    const bob = await s.newPage();
    await openSignedIn(alice, tabUrl(SHOP));
    await openSignedIn(bob, tabUrl(SHOP));
    await commandsTable(alice).waitFor();
    await commandsTable(bob).waitFor();

    await addCommand(alice, first);
    await saveCommands(alice);

    // Bob's copy is from before Alice's save.
    await addCommand(bob, second);
    await bob.getByRole('button', { name: 'Save', exact: true }).click();
    await bob
      .getByRole('alert')
      .getByText(/Someone else changed these commands since you opened them/)
      .waitFor();
    // Bob's change is still on his screen; Alice's save stands.
    expect(await labels(bob)).toContain(second.label);
    const afterConflict = await portal!.api<ReleaseCommandList>(
      commandsPath(SHOP),
    );
    expect(afterConflict.commands.map(c => c.label)).toEqual([
      ...DEMO_COMMANDS.map(c => c.label),
      first.label,
    ]);
    await s.screenshot(bob, 'stale-save');

    // Bob reloads, gets Alice's command, and makes his change again.
    await bob.getByRole('button', { name: 'Reload' }).click();
    await commandsTable(bob).getByText(first.label).waitFor();
    await addCommand(bob, second);
    await saveCommands(bob);

    const expected = [
      ...DEMO_COMMANDS.map(c => c.label),
      first.label,
      second.label,
    ];
    const stored = await portal!.api<ReleaseCommandList>(commandsPath(SHOP));
    expect(stored.commands.map(c => c.label)).toEqual(expected);
    expect(stored.revision).toBe(afterConflict.revision + 1);
    await alice.reload();
    expect(await labels(alice)).toEqual(expected);
    await s.screenshot(bob);
  });
});
