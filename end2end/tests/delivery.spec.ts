import { ADMIN, expect, hydrated, screenshot, signIn, test } from './helpers';

// The built-in sandbox behind the demo workspace paces at 10 records/s (burst 20) and calls back
// half a second after each row, so a small file goes all the way through in a few seconds.

function leads(tag: string, n: number) {
  const rows = Array.from({ length: n }, (_, i) => `${tag}${i}@sandbox.example.com,Lead ${i},Company ${i % 7}`);
  return { name: `${tag}.csv`, mimeType: 'text/csv', buffer: Buffer.from(`email,first_name,company\n${rows.join('\n')}\n`, 'utf8') };
}

test('leads flow through the sandbox: the page shows delivery and callbacks without a reload, then the export', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));

  await page.getByTestId('file-input').setInputFiles(leads('flow', 60));
  await page.getByTestId('destination').selectOption({ label: 'Demo (sandbox) / Demo leads' });
  await page.getByTestId('upload').click();
  await expect(page.getByTestId('outcome').getByTestId('count-accepted')).toHaveText('60');

  const row = page.getByTestId('imports').locator('tbody tr').filter({ hasText: 'flow.csv' });
  const delivered = row.getByTestId('delivered');
  // Paced at 10/s after a burst of 20: the page sees it part-way, then complete.
  await expect(delivered).toHaveText(/^([1-9]|[1-5]\d) of 60 delivered$/, { timeout: 15_000 });
  await screenshot(page, 'delivery-in-progress');
  await expect(delivered).toHaveText('60 of 60 delivered', { timeout: 30_000 });
  await expect(row.getByTestId('delivery-parts')).toContainText('60 called back', { timeout: 15_000 });
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await screenshot(page, 'delivery-done');

  const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId('download-leads').click()]);
  const csv = require('node:fs').readFileSync(await download.path(), 'utf8') as string;
  const [header, ...lines] = csv.trim().split('\r\n');
  expect(header).toMatch(/^kiln_id,line,table,state,/);
  expect(header).toContain('enriched.title');
  expect(lines).toHaveLength(60);
  expect(lines.every((line) => line.includes(',delivered,') && line.includes(',received,'))).toBe(true);
});

test('an import can be paused and resumed from its row', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);
  await page.getByTestId('file-input').setInputFiles(leads('pause', 150));
  await page.getByTestId('destination').selectOption({ label: 'Demo (sandbox) / Demo leads' });
  await page.getByTestId('upload').click();
  await expect(page.getByTestId('outcome').getByTestId('count-accepted')).toHaveText('150');

  const row = page.getByTestId('imports').locator('tbody tr').filter({ hasText: 'pause.csv' });
  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row).toContainText('paused');
  const parked = await row.getByTestId('delivered').innerText();
  const count = Number(parked.split(' ')[0].replace(/,/g, ''));
  expect(count).toBeLessThan(150);
  // Paused stays put (only the few in flight at the click may still land).
  await page.waitForTimeout(3_500);
  const later = Number((await row.getByTestId('delivered').innerText()).split(' ')[0].replace(/,/g, ''));
  expect(later - count).toBeLessThanOrEqual(20);
  expect(later).toBeLessThan(150);
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(row.getByTestId('delivered')).toHaveText('150 of 150 delivered', { timeout: 40_000 });
});

test('the table shows its HTTP API column settings, rotates the token, and sets the callback deadline', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/settings/workspaces');
  await hydrated(page);
  const table = page.locator('[data-table="Demo leads"]');
  // The token is not in the page until an operator asks for it.
  const column = table.getByTestId('callback-column');
  await column.locator('summary').click();
  await expect(column.getByTestId('callback-url')).toHaveText(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/callbacks\/\d+$/);
  const token = (await column.getByTestId('callback-token').innerText()).trim();
  expect(token.length).toBeGreaterThan(20);
  await screenshot(page, 'table-callback-settings');
  await column.getByTestId('rotate-callback').click();
  await expect(column.getByTestId('callback-token')).not.toHaveText(token);

  await table.getByText('Callback deadline and stream-through').click();
  const form = table.getByTestId('after-clay');
  await form.getByLabel('Flag “no callback” after (minutes)').fill('30');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(table.getByTestId('after-clay-summary')).toContainText('“no callback” after 30 min');
  await form.getByLabel('Forward enriched leads to').fill('http://crm.example.com/in');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(table.getByText('the destination URL must be https://')).toBeVisible();
});
