import { Page } from 'playwright-core';

/**
 * Signs in with Backstage's guest provider, as in a stock app. In a new
 * browser context the sign-in page shows in place of whatever page was asked
 * for; later loads in that context (a reload too) sign in again by
 * themselves.
 */
export async function signInAsGuest(page: Page) {
  const guest = page.getByRole('button', { name: /enter/i });
  // The dev server may still be compiling the app on the first load.
  await guest.waitFor({ timeout: 120_000 });
  await guest.click();
  await guest.waitFor({ state: 'detached' });
}

/** Opens a page of the app in a new browser context, signed in as guest. */
export async function openSignedIn(page: Page, url: string) {
  await page.goto(url);
  await signInAsGuest(page);
}
