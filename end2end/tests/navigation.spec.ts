import { ADMIN, expect, hydrated, screenshot, signIn, test } from './helpers';

test('an anonymous visitor is sent to sign in, then back where they were going', async ({ page }) => {
  await page.goto('/webhooks');
  await expect(page).toHaveURL(/\/login\?next=%2Fwebhooks$/);
  await hydrated(page);
  await screenshot(page, 'login');

  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill('wrong password!');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or password is not right.');
  await screenshot(page, 'login-failed');

  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/webhooks$/);
  await expect(page.getByRole('heading', { name: 'Webhooks', level: 1 })).toBeVisible();
});

test('sign in, move around with client-side navigation, sign out', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Dashboard', level: 1 })).toBeVisible();
  await screenshot(page, 'dashboard');

  // A marker on window survives only if the router navigates without reloading the page,
  // which proves the WASM is in charge and not just the server-rendered HTML.
  await page.evaluate(() => ((window as unknown as { kilnMarker: number }).kilnMarker = 42));
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const [label, heading] of [
    ['Planner', 'Planner'],
    ['Imports', 'Imports'],
    ['Deliveries', 'Deliveries'],
    ['Webhooks', 'Webhooks'],
    ['Budgets', 'Budgets'],
    ['Settings', 'Settings'],
  ]) {
    await nav.getByRole('link', { name: label }).click();
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
    await expect(nav.getByRole('link', { name: label })).toHaveAttribute('aria-current', 'page');
    await expect(page).toHaveTitle(`${heading} · Kiln`);
    await screenshot(page, label.toLowerCase());
  }
  expect(await page.evaluate(() => (window as unknown as { kilnMarker?: number }).kilnMarker)).toBe(42);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
});

test('unknown addresses show a 404 page', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await expect(page).toHaveURL(/\/$/);
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await screenshot(page, 'not-found');
});

test('the layout works on a phone-sized screen', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  await signIn(page, ADMIN.email, ADMIN.password);
  await hydrated(page);
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await screenshot(page, 'dashboard-phone');
});
