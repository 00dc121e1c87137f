import { ADMIN, expect, hydrated, screenshot, test } from './helpers';

test('first run: the person at the browser creates the first admin', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup$/);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Welcome to Kiln' })).toBeVisible();
  await screenshot(page, 'setup');

  // A mistake is explained, and nothing is created.
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Repeat password').fill('not the same password');
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByRole('alert')).toHaveText('The two passwords differ.');

  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Repeat password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create administrator' }).click();

  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN.email);
  await expect(page.getByTestId('user-role')).toHaveText('admin');

  // The set-up page is gone now.
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/login$/);
});
