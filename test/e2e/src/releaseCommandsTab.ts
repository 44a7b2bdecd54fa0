import { Page } from 'playwright-core';

/*
 * What a person does in the portal's "Release commands" tab, by the
 * accessible names the tab gives its controls. Shared by the end-to-end
 * suite and scripts/screenshots.ts.
 */

export const APP_URL = process.env.APP_URL ?? 'http://localhost:3000';
export const BACKEND_URL = process.env.BACKEND_URL ?? 'http://localhost:7007';

/** Built by examples/demo-shop/build.sh; the demo entities' image annotation names it. */
export const DEMO_IMAGE = 'release-commands-demo/shop:1';

/**
 * What examples/demo-shop/release-commands.yaml declares, the first before
 * the tab's commands and the second after them; they pass on the demo image.
 */
export const DECLARED_COMMANDS = [
  { label: 'Migrate database', command: './manage.sh migrate' },
  { label: 'Fix tree', command: './manage.sh fix-tree' },
];

/**
 * The reference document's example: the declared commands with the security
 * check between them, which fails, so the deploy must stop.
 */
export const DEMO_COMMANDS = [
  { label: 'Migrate database', command: './manage.sh migrate' },
  { label: 'Security checks', command: './manage.sh check-security' },
  { label: 'Fix tree', command: './manage.sh fix-tree' },
];

export const tabUrl = (name: string) =>
  `${APP_URL}/catalog/default/component/${name}/release-commands`;

export const commandsTable = (page: Page) =>
  page.getByRole('table', { name: 'Release commands in run order' });

/** Waits until the editor shows the list, or says it is empty. */
export async function waitForCommands(page: Page) {
  await commandsTable(page)
    .or(page.getByText('No release commands yet'))
    .waitFor({ timeout: 60_000 });
}

/** Adds a command through the Add dialog; it stays unsaved until `saveCommands`. */
export async function addCommand(
  page: Page,
  command: { label: string; command: string },
) {
  await page.getByRole('button', { name: /^Add (a )?command$/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a release command' });
  await dialog.getByLabel('Label').fill(command.label);
  await dialog.getByLabel('Command').fill(command.command);
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
}

export async function saveCommands(page: Page) {
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('All changes saved.').waitFor();
}

export type CommandRow = { label: string; command: string; source: string };

/** The rows of the commands table as shown, in run order. */
export async function commandRows(page: Page): Promise<CommandRow[]> {
  const table = commandsTable(page);
  await table.waitFor();
  return table.evaluate((element: HTMLTableElement) => {
    const headers = [...element.tHead!.rows[0].cells].map(c => c.textContent);
    const column = (name: string) => headers.indexOf(name);
    return [...element.tBodies[0].rows].map(row => ({
      label: row.cells[column('Label')].textContent ?? '',
      command: row.cells[column('Command')].textContent ?? '',
      source: row.cells[column('Source')].textContent ?? '',
    }));
  });
}

/**
 * Starts a run from the "Run release commands" dialog, on the given image or
 * on the one the dialog offers, and returns the run's id once its page is
 * open.
 */
export async function startRun(
  page: Page,
  options: { image?: string } = {},
): Promise<{ runId: string; dialogImage: string }> {
  await page.getByRole('button', { name: 'Run release commands' }).click();
  const dialog = page.getByRole('dialog', { name: 'Run release commands' });
  const image = dialog.getByLabel('Image');
  if (options.image) await image.fill(options.image);
  const dialogImage = await image.inputValue();
  await dialog.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForURL(/[?&]run=/, { timeout: 30_000 }).catch(async () => {
    const refusal = await dialog.locator('.MuiAlert-message').textContent();
    throw new Error(`The run was not started: ${refusal}`);
  });
  const runId = new URL(page.url()).searchParams.get('run')!;
  return { runId, dialogImage };
}

/**
 * The lines the run page's log viewer shows, as text: without line numbers
 * (a line may start with digits of its own) and without the hidden "Opens in a new window" of the links it makes of
 * anything that looks like a web address (`./manage.sh`).
 */
export async function runLogLines(page: Page): Promise<string[]> {
  const rows = page.getByTestId('run-log').getByRole('row');
  // Each line's number is its `row` element, first in the line.
  return rows.evaluateAll(elements =>
    elements.map(row => {
      const whole = row.parentElement?.textContent ?? '';
      const number = row.textContent ?? '';
      return (
        whole.startsWith(number) ? whole.slice(number.length) : whole
      ).replaceAll(', Opens in a new window', '');
    }),
  );
}

/**
 * Waits until the log shows lines starting with each of `expected`, in that
 * order (other lines may come between).
 */
export async function waitForLogLines(
  page: Page,
  expected: string[],
  timeoutMs = 120_000,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const lines = await runLogLines(page);
    let next = 0;
    for (const line of lines) {
      if (next < expected.length && line.startsWith(expected[next])) next++;
    }
    if (next === expected.length) return;
    if (Date.now() > until) {
      throw new Error(
        `The log did not show "${
          expected[next]
        }" in ${timeoutMs} ms; it shows:\n${lines.join('\n')}`,
      );
    }
    await page.waitForTimeout(250);
  }
}

/** Waits on the run page until the run has ended and its steps show the end. */
export async function waitForRunEnd(page: Page) {
  await page
    .getByText('The run has ended; this is its whole log.')
    .waitFor({ timeout: 120_000 });
  // The steps refresh once more after the log's end: no step is left
  // pending or running.
  const steps = page.getByRole('table', { name: 'Steps' });
  await steps
    .getByText(/^(Pending|Running)$/)
    .first()
    .waitFor({ state: 'detached', timeout: 30_000 });
}
