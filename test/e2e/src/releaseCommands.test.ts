/*
 * The whole product end to end: the portal started as the README starts it,
 * driven in headless Chromium as a person would, running release commands
 * on the real Docker engine with the demo image that command 1 builds from
 * scratch. The scenarios build on each other and run in order: the first is
 * a first run, on the commands the demo shop declares in its repository.
 */
import {
  CommandDeclarations,
  ReleaseCommandList,
  ReleaseCommandRun,
  releaseCommandPresets,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  launchChromium,
  openSignedIn,
  requireDocker,
} from '@release-commands/test-utils';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fs from 'node:fs';
import path from 'node:path';
import { Browser, Page } from 'playwright-core';
import { demoImageCreated, removeDemoImage } from './demoImage';
import { Portal, startPortal } from './portal';
import {
  APP_URL,
  BACKEND_URL,
  DECLARED_COMMANDS,
  DEMO_COMMANDS,
  DEMO_IMAGE,
  addCommand,
  commandRows,
  commandsTable,
  saveCommands,
  startRun,
  tabUrl,
  waitForCommands,
  waitForLogLines,
  waitForRunEnd,
} from './releaseCommandsTab';
import { ARTIFACTS, Scenario, clearArtifacts } from './Scenario';

const SHOP = 'demo-shop';
const SHOP_REF = `component:default/${SHOP}`;
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
  const suiteStarted = Date.now();
  await removeDemoImage();

  browser = await launchChromium();
  portal = startPortal({
    logFile: path.join(ARTIFACTS, 'portal.log'),
    entities: [SHOP, DJANGO],
  });
  await portal.ready();

  // Command 1 leaves an engine answering and the demo image built anew.
  const docker = await requireDocker();
  const created = await demoImageCreated(docker);
  // Docker keeps whole seconds of the creation time.
  if (created.getTime() < suiteStarted - 1000) {
    throw new Error(
      `${DEMO_IMAGE} was created at ${created.toISOString()}, before bash scripts/start.sh ran`,
    );
  }
});

afterAll(async () => {
  await browser?.close();
  await portal?.stop();
});

const scenario = (name: string, body: (s: Scenario) => Promise<void>) =>
  Scenario.run(browser!, name, body);

const SOURCE = {
  api: 'API',
  user: 'Added by you',
  repository: 'Repository',
} as const;
const shownAs = (
  { label, command }: { label: string; command: string },
  source: keyof typeof SOURCE,
) => ({ label, command, source: SOURCE[source] });

it('1. a first run: the demo shop declares its commands in its repository, and running them from the tab on the new image passes', async () => {
  const [migrate, fixTree] = DECLARED_COMMANDS;
  const declared = await portal!.api<CommandDeclarations>(
    `${commandsPath(SHOP)}/declared`,
  );
  expect(declared.declarations).toEqual([
    {
      source: 'repository',
      location: portal!.declaredFile,
      revision: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      commands: [
        { ...migrate, timeoutSeconds: null, position: 'before' },
        { ...fixTree, timeoutSeconds: null, position: 'after' },
      ],
    },
  ]);
  // The tab's own list is empty: nothing was copied into it.
  const own = await portal!.api<ReleaseCommandList>(commandsPath(SHOP));
  expect(own).toMatchObject({ revision: 0, commands: [] });

  await scenario('1-first-run', async s => {
    const page = await s.newPage();
    await openSignedIn(page, tabUrl(SHOP));
    expect(await commandRows(page)).toEqual(
      DECLARED_COMMANDS.map(c => shownAs(c, 'repository')),
    );
    // The tab states where declared commands run among its own.
    expect(await page.getByTestId('run-order-rule').textContent()).toMatch(
      /^Runs go in the order of the # column: the image's before/,
    );
    await s.screenshot(page, 'tab');

    const { runId, dialogImage } = await startRun(page);
    expect(dialogImage).toBe(DEMO_IMAGE);
    await waitForLogLines(page, [
      '===== docker release commands =====',
      `2 release commands of ${SHOP_REF} on ${DEMO_IMAGE}`,
      `All of them are declared in ${
        portal!.declaredFile
      } (${declared.declarations[0].revision!.slice(0, 19)})`,
      `[1/2] ${migrate.label}: ${migrate.command}`,
      '  Applying shop.0003_stock... OK',
      `[1/2] ${migrate.label} passed (exit 0`,
      `[2/2] ${fixTree.label}: ${fixTree.command}`,
      'Checking the page tree... 42 pages, 0 problems',
      `[2/2] ${fixTree.label} passed (exit 0`,
      'Release commands passed: 2 commands succeeded in ',
    ]);
    await waitForRunEnd(page);

    const steps = page.getByRole('table', { name: 'Steps' });
    for (const n of [1, 2]) {
      await steps.getByTestId(`step-${n}`).getByText('Succeeded').waitFor();
    }
    await s.screenshot(page);

    const run = await portal!.api<ReleaseCommandRun>(
      `/api/release-commands/runs/${runId}`,
    );
    expect(run).toMatchObject({
      status: 'succeeded',
      image: DEMO_IMAGE,
      reason: null,
    });
    expect(
      run.steps.map(x => [x.command, x.source, x.status, x.exitCode]),
    ).toEqual(
      DECLARED_COMMANDS.map(c => [c.command, 'repository', 'succeeded', 0]),
    );
  });
});

it('2. edits the commands: adds the security check between the declared ones, reorders, saves, and finds them after a reload', async () => {
  const warm = { label: 'Warm caches', command: './manage.sh warm-caches' };
  await scenario('2-edit-commands', async s => {
    const page = await s.newPage();
    await openSignedIn(page, tabUrl(SHOP));
    expect(await commandRows(page)).toEqual([
      shownAs(MIGRATE, 'repository'),
      shownAs(FIX_TREE, 'repository'),
    ]);
    // Declared commands are changed where they are declared.
    await expect(
      page.getByRole('button', { name: `Edit ${MIGRATE.label}` }).count(),
    ).resolves.toBe(0);

    // The tab's own commands run between the declared ones.
    await addCommand(page, SECURITY);
    await addCommand(page, warm);
    expect(await commandRows(page)).toEqual([
      shownAs(MIGRATE, 'repository'),
      shownAs(SECURITY, 'user'),
      shownAs(warm, 'user'),
      shownAs(FIX_TREE, 'repository'),
    ]);

    // By mouse: the drag handle of the tab's second command onto its first.
    await page
      .getByTestId('drag-handle-2')
      .dragTo(page.getByTestId('command-row-1'));
    expect(await commandRows(page)).toEqual([
      shownAs(MIGRATE, 'repository'),
      shownAs(warm, 'user'),
      shownAs(SECURITY, 'user'),
      shownAs(FIX_TREE, 'repository'),
    ]);
    // By keyboard: the move buttons.
    await page
      .getByRole('button', { name: `Move ${SECURITY.label} up` })
      .click();
    // And a command deleted before the save is never written.
    await page.getByRole('button', { name: `Delete ${warm.label}` }).click();
    await page
      .getByRole('dialog', { name: 'Delete this command?' })
      .getByRole('button', { name: 'Delete' })
      .click();
    const expected = [
      shownAs(MIGRATE, 'repository'),
      shownAs(SECURITY, 'user'),
      shownAs(FIX_TREE, 'repository'),
    ];
    expect(await commandRows(page)).toEqual(expected);

    await saveCommands(page);
    await page.reload();
    await commandsTable(page).waitFor();
    expect(await commandRows(page)).toEqual(expected);

    const stored = await portal!.api<ReleaseCommandList>(commandsPath(SHOP));
    expect(
      stored.commands.map(({ label, command, source, enabled }) => ({
        label,
        command,
        source,
        enabled,
      })),
    ).toEqual([{ ...SECURITY, source: 'user', enabled: true }]);
    await s.screenshot(page);

    // The history: the save, by the guest, the list's first write.
    await page.getByRole('link', { name: 'History' }).click();
    const revisions = page.getByRole('table', {
      name: 'Revisions of the release commands',
    });
    const newest = revisions
      .getByRole('row')
      .filter({ hasText: `${stored.revision} (current)` });
    await newest.getByText('Saved the list').waitFor();
    await newest.getByText('user:default/guest').waitFor();
    await newest.getByText(`added ${SECURITY.label}`).waitFor();
    expect(stored.revision).toBe(1);
    await s.screenshot(page, 'history');
  });
});

it('3. runs them on the demo image: a live log, the failing check fails the run, the last step is skipped', async () => {
  await scenario('3-failing-run', async s => {
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

    // Each command's durations over the runs so far, against its timeout.
    await page
      .getByRole('img', {
        name: `Durations of ${MIGRATE.label} over the last 2 runs; timeout 30 min`,
      })
      .waitFor();
    await page
      .getByRole('img', {
        name: `Durations of ${SECURITY.label} over the last 1 run; timeout 30 min`,
      })
      .waitFor();
    await s.screenshot(page, 'durations');

    // The owners are told (the guest is in the group that owns the shop),
    // with a link that opens the run.
    await page.goto(`${APP_URL}/notifications`);
    const runUrl = `${tabUrl(SHOP)}?run=${runId}`;
    const told = page.locator(`a[href="${runUrl}"]`);
    await told.getByText(`Release commands of ${SHOP} failed`).waitFor();
    await page.getByText(reason).first().waitFor();
    await s.screenshot(page, 'notifications');
    const opened = page.context().waitForEvent('page');
    await told.click();
    const runPage = await opened;
    await runPage.getByRole('alert').getByText(reason).waitFor();
    expect(runPage.url()).toBe(runUrl);
    await s.screenshot(runPage, 'notification-opened');
  });
});

it("4. creates a service from the Django template: its tab lists the framework's defaults with their source", async () => {
  await scenario('4-template', async s => {
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
    // The template's output shows once every step has finished. The task's
    // log, when open, has the same words.
    await page
      .getByTestId('text-output-box')
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

it('5. refuses a save from a stale copy: the second editor sees the conflict and nothing is lost', async () => {
  const first = { label: 'Warm caches', command: './manage.sh warm-caches' };
  const second = { label: 'Notify the team', command: './manage.sh notify' };
  const labels = async (page: Page) =>
    (await commandRows(page)).map(row => row.label);

  await scenario('5-conflict', async s => {
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
      SECURITY.label,
      first.label,
    ]);
    await s.screenshot(bob, 'stale-save');

    // Bob reloads, gets Alice's command, and makes his change again.
    await bob.getByRole('button', { name: 'Reload' }).click();
    await commandsTable(bob).getByText(first.label).waitFor();
    await addCommand(bob, second);
    await saveCommands(bob);

    const stored = await portal!.api<ReleaseCommandList>(commandsPath(SHOP));
    expect(stored.commands.map(c => c.label)).toEqual([
      SECURITY.label,
      first.label,
      second.label,
    ]);
    expect(stored.revision).toBe(afterConflict.revision + 1);
    await alice.reload();
    expect(await labels(alice)).toEqual([
      MIGRATE.label,
      SECURITY.label,
      first.label,
      second.label,
      FIX_TREE.label,
    ]);
    await s.screenshot(bob);
  });
});

it("6. lets an agent read the shop's commands and runs through the portal's MCP server, as the guest", async () => {
  // The guest's own token, as the app gets it at sign-in.
  const signIn = await fetch(`${BACKEND_URL}/api/auth/guest/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  expect(signIn.status).toBe(200);
  const { backstageIdentity } = await signIn.json();
  const agent = new Client({ name: 'release-commands-e2e', version: '1' });
  await agent.connect(
    new StreamableHTTPClientTransport(
      new URL(`${BACKEND_URL}/api/mcp-actions/v1`),
      {
        requestInit: {
          headers: { Authorization: `Bearer ${backstageIdentity.token}` },
        },
      },
    ),
  );
  try {
    const { tools } = await agent.listTools();
    expect(
      tools
        .map(tool => tool.name)
        .filter(name => name.startsWith('release-commands.'))
        .sort(),
    ).toEqual([
      'release-commands.get-commands',
      'release-commands.get-run',
      'release-commands.list-runs',
      'release-commands.run',
    ]);
    const commands = await agent.callTool({
      name: 'release-commands.get-commands',
      arguments: { entityRef: SHOP_REF },
    });
    expect(commands.structuredContent).toEqual(
      await portal!.api<ReleaseCommandList>(commandsPath(SHOP)),
    );
    const runs = await agent.callTool({
      name: 'release-commands.list-runs',
      arguments: { entityRef: SHOP_REF, limit: 5 },
    });
    const [latest] = (runs.structuredContent as { runs: ReleaseCommandRun[] })
      .runs;
    const run = await agent.callTool({
      name: 'release-commands.get-run',
      arguments: { runId: latest.id, logTailLines: 1 },
    });
    expect(run.structuredContent).toEqual({
      run: await portal!.api<ReleaseCommandRun>(
        `/api/release-commands/runs/${latest.id}`,
      ),
      logTail: expect.stringMatching(/^Release commands (failed|passed)/),
      url: `${tabUrl(SHOP)}?run=${latest.id}`,
    });
  } finally {
    await agent.close();
  }
});

it("7. reads the shop's declared commands from its file: an edit shows without a write, a broken file is a problem in the tab and fails a run before step 1", async () => {
  const file = portal!.declaredFile;
  const original = fs.readFileSync(file, 'utf8');
  const renamed = { ...FIX_TREE, label: 'Fix the page tree' };
  try {
    await scenario('7-declared-file', async s => {
      const before = await portal!.api<ReleaseCommandList>(commandsPath(SHOP));
      fs.writeFileSync(
        file,
        original.replace(`label: ${FIX_TREE.label}`, `label: ${renamed.label}`),
      );
      const page = await s.newPage();
      await openSignedIn(page, tabUrl(SHOP));
      await commandsTable(page).getByText(renamed.label).waitFor();
      const rows = await commandRows(page);
      expect(rows[0]).toEqual(shownAs(MIGRATE, 'repository'));
      expect(rows[rows.length - 1]).toEqual(shownAs(renamed, 'repository'));
      // Nothing was written to the tab's list.
      expect(
        (await portal!.api<ReleaseCommandList>(commandsPath(SHOP))).revision,
      ).toBe(before.revision);

      fs.writeFileSync(
        file,
        'commands:\n  - label: Migrate database\n    command: [\n',
      );
      await page.reload();
      const problem = page
        .getByRole('alert')
        .filter({ hasText: 'Runs fail before step 1 until it is fixed.' });
      await problem
        .getByText(
          /The release commands declared in the file \.\/demo-shop\/release-commands\.yaml \(release-commands\/file annotation\) cannot be parsed/,
        )
        .waitFor();
      await s.screenshot(page, 'broken-file');

      const { runId } = await startRun(page);
      await waitForRunEnd(page);
      const run = await portal!.api<ReleaseCommandRun>(
        `/api/release-commands/runs/${runId}`,
      );
      expect(run.status).toBe('failed');
      expect(run.startedAt).toBeNull();
      expect(run.reason).toMatch(
        /^The release commands declared in the file \.\/demo-shop\/release-commands\.yaml \(release-commands\/file annotation\) cannot be parsed: .* No command ran\.$/,
      );
      expect(run.steps.map(step => step.status)).toEqual(
        run.steps.map(() => 'skipped'),
      );
      await page.getByRole('alert').getByText('No command ran.').waitFor();
      await s.screenshot(page);
    });
  } finally {
    fs.writeFileSync(file, original);
  }
});
