import { ADMIN, expect, hydrated, screenshot, signIn, test } from './helpers';

test('an admin adds a teammate and an API token; a viewer cannot manage users', async ({ page, browser }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.goto('/settings/users');
  await hydrated(page);
  await expect(page.getByTestId('users')).toContainText(ADMIN.email);

  const create = page.getByTestId('create-user');
  await create.getByLabel('Email').fill('viewer@kiln.test');
  await create.getByLabel('Initial password').fill('viewer password 1');
  await create.getByLabel('Role').selectOption('viewer');
  await create.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByText('viewer@kiln.test can now sign in as viewer.')).toBeVisible();
  await expect(page.getByTestId('users').locator('tr[data-user="viewer@kiln.test"]')).toContainText('viewer');

  const token = page.getByTestId('create-token');
  await token.getByLabel('Name').fill('crm-sync');
  await token.getByLabel('Role').selectOption('operator');
  await token.getByRole('button', { name: 'Create token' }).click();
  const secret = page.getByTestId('new-token').locator('code');
  await expect(secret).toHaveText(/^kiln_[0-9a-f]{64}$/);
  const value = await secret.textContent();
  await expect(page.getByTestId('tokens')).toContainText('crm-sync');
  await screenshot(page, 'users');

  // The token works against the API, and the list never shows it again.
  const me = await page.request.get('/api/v1/me', { headers: { Authorization: `Bearer ${value}` } });
  expect(me.status()).toBe(200);
  expect(await me.json()).toEqual({ actor: 'token:crm-sync', role: 'operator' });
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('tokens')).toContainText('crm-sync');
  expect(await page.content()).not.toContain(value!);

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await signIn(viewer, 'viewer@kiln.test', 'viewer password 1');
  await expect(viewer.getByTestId('user-role')).toHaveText('viewer');
  await viewer.goto('/settings/users');
  await hydrated(viewer);
  await expect(viewer.getByRole('alert').first()).toHaveText('Your role does not allow this.');
  await screenshot(viewer, 'users-as-viewer');
  await viewerContext.close();
});
