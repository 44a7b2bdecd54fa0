import fs from 'node:fs';
import path from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT } from './portal';

/** Screenshots and traces, git-ignored. */
export const ARTIFACTS = path.join(ROOT, 'test/artifacts/e2e');

/**
 * The browser contexts of one scenario (one per person in it), each traced,
 * and where its pictures go: `<name>.png` for the end state, a trace
 * `trace-<name>.zip` and a screenshot `<name>-failure.png` per context when
 * it fails.
 */
export class Scenario {
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    private readonly browser: Browser,
    readonly name: string,
  ) {}

  /** Runs `body` with a fresh scenario; keeps a trace of it when it fails. */
  static async run(
    browser: Browser,
    name: string,
    body: (scenario: Scenario) => Promise<void>,
  ) {
    const scenario = new Scenario(browser, name);
    try {
      await body(scenario);
    } catch (error) {
      await scenario.close({ failed: true }).catch(() => {});
      throw error;
    }
    await scenario.close({ failed: false });
  }

  /** A page in a context of its own: its own sign-in, its own copy of the data. */
  async newPage(): Promise<Page> {
    const context = await this.browser.newContext({
      viewport: { width: 1440, height: 1100 },
    });
    await context.tracing.start({ screenshots: true, snapshots: true });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    return page;
  }

  /** `<name>.png`, or `<name>-<detail>.png` for a moment before the end. */
  async screenshot(page: Page, detail?: string) {
    const file = detail ? `${this.name}-${detail}` : this.name;
    await page.screenshot({
      path: path.join(ARTIFACTS, `${file}.png`),
      fullPage: true,
    });
  }

  private async close(options: { failed: boolean }) {
    for (const [index, context] of this.contexts.entries()) {
      const suffix = index === 0 ? '' : `-${index + 1}`;
      if (options.failed) {
        // Whatever can be kept is kept; the scenario's own error is the one reported.
        for (const page of context.pages()) {
          await page
            .screenshot({
              path: path.join(ARTIFACTS, `${this.name}-failure${suffix}.png`),
              fullPage: true,
            })
            .catch(() => {});
        }
        await context.tracing
          .stop({
            path: path.join(ARTIFACTS, `trace-${this.name}${suffix}.zip`),
          })
          .catch(() => {});
      }
      await context.close();
    }
  }
}

export function clearArtifacts() {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
}
