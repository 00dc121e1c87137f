import type { Page } from '@playwright/test';
import { ADMIN, expect, hydrated, screenshot, signIn, test } from './helpers';

// The built-in sandbox behind the demo workspace paces at 10 records/s (burst 20) and calls back
// half a second after each row, so a small file goes all the way through in a few seconds.

function leads(tag: string, n: number) {
  const rows = Array.from({ length: n }, (_, i) => `${tag}${i}@sandbox.example.com,Lead ${i},Company ${i % 7}`);
  return { name: `${tag}.csv`, mimeType: 'text/csv', buffer: Buffer.from(`email,first_name,company\n${rows.join('\n')}\n`, 'utf8') };
}

/** A workspace with a credit budget and one table whose webhook is the sandbox at `query`; the table's id. */
async function sandboxWorkspace(
  page: Page,
  o: { workspace: string; budget: string; table: string; credits: string; actions?: string; query: (tableId: string) => string },
) {
  await page.goto('/settings/workspaces');
  await hydrated(page);
  const create = page.getByTestId('create-workspace');
  await create.getByLabel('Name').fill(o.workspace);
  await create.getByLabel('Data-credit budget per month').fill(o.budget);
  await create.getByRole('button', { name: 'Create workspace' }).click();
  const card = page.locator(`[data-workspace="${o.workspace}"]`);
  await expect(card).toBeVisible();
  const form = card.getByTestId('create-table');
  await form.getByLabel('Table name').fill(o.table);
  await form.getByLabel('Estimated data credits per lead').fill(o.credits);
  if (o.actions) await form.getByLabel('Actions per lead').fill(o.actions);
  await form.getByRole('button', { name: 'Add table' }).click();
  const table = card.locator(`[data-table="${o.table}"]`);
  await expect(table).toContainText(`${o.credits} data credits and ${o.actions ?? '1'} Actions per lead`);
  const tableId = (await table.textContent())!.match(/id (\d+)/)![1];
  await table.getByText('Add a webhook').click();
  const hook = table.getByTestId('add-webhook');
  const origin = new URL(page.url()).origin;
  await hook.getByLabel('Webhook URL').fill(`${origin}/sandbox/clay/v3/sources/webhook/${o.query(tableId)}`);
  await hook.getByRole('button', { name: 'Add webhook' }).click();
  await expect(table.locator('table.webhooks')).toBeVisible();
  return tableId;
}

/** Uploads `n` leads to the table labelled `destination` on the imports page. */
async function upload(page: Page, tag: string, n: number, destination: string) {
  await page.goto('/imports');
  await hydrated(page);
  await page.getByTestId('file-input').setInputFiles(leads(tag, n));
  await page.getByTestId('destination').selectOption({ label: destination });
  await page.getByTestId('upload').click();
  await expect(page.getByTestId('outcome').getByTestId('count-accepted')).toHaveText(String(n));
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

test('the dashboard follows a sandbox run live, without a reload', async ({ page, context }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await hydrated(page);
  await expect(page.getByTestId('live-status')).toContainText('● live', { timeout: 10_000 });
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const card = page.locator('.live-workspace[data-workspace="Demo (sandbox)"]');
  const delivered = async () =>
    Number((await card.getByTestId('stat-delivered').locator('.stat-value').innerText()).replace(/,/g, ''));
  const before = await delivered();

  // Someone else drops a file in another tab.
  const other = await context.newPage();
  await other.goto('/imports');
  await hydrated(other);
  await other.getByTestId('file-input').setInputFiles(leads('dash', 80));
  await other.getByTestId('destination').selectOption({ label: 'Demo (sandbox) / Demo leads' });
  await other.getByTestId('upload').click();
  await expect(other.getByTestId('outcome').getByTestId('count-accepted')).toHaveText('80');

  // The dashboard sees the deliveries and the callbacks as they happen.
  await expect.poll(delivered, { timeout: 20_000 }).toBeGreaterThan(before);
  await expect(card.getByTestId('send-rate')).not.toContainText(/^0\.0 of/);
  await screenshot(page, 'dashboard-live');
  await expect.poll(delivered, { timeout: 30_000 }).toBe(before + 80);
  await expect(card.getByTestId('callbacks')).toContainText(/[1-9][\d,]* received/);
  await expect(page.getByTestId('dashboard-imports')).toContainText('dash.csv');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test('an alert banner appears when a workspace passes 80% of its credit budget', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await sandboxWorkspace(page, {
    workspace: 'Alerting',
    budget: '10',
    table: 'Small',
    credits: '2',
    query: () => 'alerting?workspace=alerting',
  });
  await upload(page, 'budget', 4, 'Alerting / Small');

  // 8 of 10 credits: the worker raises the alert, the banner shows it on every page.
  const banner = page.getByTestId('alert-banner');
  await expect(banner).toContainText("Alerting: 80% of this month's 10 data credits", { timeout: 25_000 });
  await page.goto('/planner');
  await expect(page.getByTestId('alert-banner')).toContainText('Alerting: 80%');
  await screenshot(page, 'alert-banner');
  await page.getByTestId('alert-banner').getByRole('link', { name: 'All alerts →' }).click();
  await expect(page.getByRole('heading', { name: 'Alerts', level: 1 })).toBeVisible();
  const row = page.getByTestId('alerts').locator('tr[data-kind="budget_80"]');
  await expect(row).toContainText("Alerting: 80% of this month's 10 data credits");
  await expect(row).toContainText('open');
});

test('the budgets page charts what callbacks spent, against the budget, with each table\'s share', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  // The sandbox calls this table back and reports 1.5 credits and 2 Actions a row.
  const tableId = await sandboxWorkspace(page, {
    workspace: 'Budgeted',
    budget: '100',
    table: 'Waterfall',
    credits: '2',
    actions: '3',
    query: (id) => `budgeted?workspace=budgeted&callback_table=${id}&callback_delay_ms=100&credits=1.5&actions=2`,
  });
  await upload(page, 'budgeted', 4, 'Budgeted / Waterfall');

  // Four callbacks: 6 credits spent against 8 estimated, 8 Actions.
  const budget = page.locator('.card.budget[data-workspace="Budgeted"]');
  await expect(async () => {
    await page.goto('/budgets');
    await expect(budget.locator('[data-allowance="credits"] [data-field="spent"]')).toHaveText('6', { timeout: 1_000 });
  }).toPass({ timeout: 25_000 });
  await hydrated(page);
  await expect(budget.locator('[data-allowance="credits"] [data-field="remaining"]')).toHaveText('94');
  await expect(budget.locator('[data-allowance="actions"] [data-field="spent"]')).toHaveText('8');

  const month = budget.getByTestId('budget-month-chart');
  await expect(month.locator('line.budget-line')).toHaveAttribute('data-budget', '100');
  const today = new Date().toISOString().slice(0, 10);
  const point = month.locator(`circle.spent-dot[data-day="${today}"]`);
  await expect(point).toHaveAttribute('data-spent', '6.00');
  await expect(point).toHaveAttribute('data-day-spent', '6.00');
  await expect(point.locator('title')).toContainText('6 this month');
  const projected = Number(await month.locator('circle.projection-dot').getAttribute('data-projected'));
  expect(projected).toBeGreaterThanOrEqual(6);
  // The dot sits at its value on the axis: y grows downwards from the top of the plot.
  const axis = await month.locator('text.tick').allTextContents();
  expect(axis).toContain('0');

  const year = budget.getByTestId('budget-year-chart');
  // Two bars a month (the legend's swatches carry no data); this month last.
  await expect(year.locator('rect[data-month]')).toHaveCount(24);
  const thisMonth = year.locator('rect[data-kind="actual"]').last();
  await expect(thisMonth).toHaveAttribute('data-month', today.slice(0, 7));
  await expect(thisMonth).toHaveAttribute('data-value', '6.00');
  await expect(year.locator('rect[data-kind="estimate"]').last()).toHaveAttribute('data-value', '8.00');

  const row = budget.getByTestId('budget-tables').locator(`tr[data-table="${tableId}"]`);
  await expect(row).toContainText('Waterfall');
  await expect(row.locator('[data-field="credits"]')).toHaveText('6');
  await expect(row).toContainText('100%');
  await budget.scrollIntoViewIfNeeded();
  await screenshot(page, 'budgets');
});

test('the webhooks page shows a gauge per webhook and when each runs out', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/webhooks');
  await hydrated(page);
  const card = page.locator('.card[data-workspace="Demo (sandbox)"]');
  const gauge = card.locator('svg.gauge').first();
  await expect(gauge).toHaveAttribute('data-usable', '45000');
  const used = Number(await gauge.getAttribute('data-used'));
  expect(used).toBeGreaterThan(0);
  // The bar's width is the share used, in the SVG's own units (240 wide).
  const width = Number(await gauge.locator('rect.gauge-fill').getAttribute('width'));
  expect(width).toBeCloseTo((240 * used) / 45000, 0);
  await expect(card.getByTestId('runs-out').first()).toContainText(/^about \d{4}-\d{2}-\d{2}$/);
  await expect(card.getByTestId('webhook-need')).toContainText(/submissions? a day/);
  await screenshot(page, 'webhooks');
});

test('the audit log shows who uploaded and who steered deliveries', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/audit');
  await hydrated(page);
  const uploads = page.getByTestId('audit').locator('tr[data-action="import.upload"]');
  await expect(uploads.first()).toContainText(ADMIN.email);
  await expect(page.getByTestId('audit').locator('tr[data-action="import.pause"]').first()).toContainText(ADMIN.email);
  await expect(page.getByTestId('audit')).toContainText('workspace.create');
});

test('the deliveries page lists batches on their way, changes priority, and requeues a dead lead', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  // The sandbox refuses every row with a 400, which no retry mends: the leads are dead at once.
  await sandboxWorkspace(page, {
    workspace: 'Refusing',
    budget: '1000',
    table: 'Refused leads',
    credits: '1',
    query: () => 'refusing?workspace=refusing&fail=1&fail_status=400',
  });
  await upload(page, 'refused', 5, 'Refusing / Refused leads');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).click();
  await expect(page.getByRole('heading', { name: 'Batches in delivery' })).toBeVisible();
  const row = page.getByTestId('imports').locator('tbody tr').filter({ hasText: 'refused.csv' });
  await expect(row.getByTestId('delivery-parts')).toHaveText('5 dead', { timeout: 20_000 });
  await expect(row.getByTestId('delivered')).toHaveText('0 of 5 delivered');

  await Promise.all([
    page.waitForResponse((response) => response.url().includes('set_import_priority') && response.ok()),
    row.getByTestId('priority').getByLabel('high').check(),
  ]);
  await page.reload();
  await hydrated(page);
  await expect(row.getByTestId('priority').getByLabel('high')).toBeChecked();

  await row.getByTestId('show-dead-leads').click();
  const dead = page.getByTestId('dead-leads');
  await expect(dead.locator('tbody tr')).toHaveCount(5);
  await expect(dead.locator('tbody tr').first()).toContainText('rejected by Clay (HTTP 400)');
  await dead.scrollIntoViewIfNeeded();
  await screenshot(page, 'deliveries');
  await dead.locator('tbody tr').first().getByRole('button', { name: 'Requeue' }).click();
  await expect(dead.getByTestId('requeued')).toBeVisible();
  // It goes out again and is refused again: six refusals for five leads, all five dead.
  const refusals = async () => (await (await page.request.get('/sandbox/clay/stats')).json()).refusing.injected_failures;
  await expect.poll(refusals, { timeout: 15_000 }).toBe(6);
  await expect(row.getByTestId('delivery-parts')).toHaveText('5 dead', { timeout: 15_000 });
});

test('a table shows the enriched leads its destination refused, and forwards them again once it is fixed', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await sandboxWorkspace(page, {
    workspace: 'Forwarding',
    budget: '1000',
    table: 'Onward',
    credits: '1',
    query: (id) => `onward?workspace=forwarding&callback_table=${id}&callback_delay_ms=100`,
  });
  // The destination (a sandbox webhook standing in for a CRM) wants a token Kiln was not given.
  const origin = new URL(page.url()).origin;
  const table = page.locator('[data-table="Onward"]');
  await table.getByText('Callback deadline and stream-through').click();
  const form = table.getByTestId('after-clay');
  await form.getByLabel('Forward enriched leads to').fill(`${origin}/sandbox/clay/v3/sources/webhook/crm?workspace=crm&auth=crm-key`);
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(table.getByTestId('after-clay-summary')).toContainText('forwards enriched leads to');
  await upload(page, 'onward', 5, 'Forwarding / Onward');

  const stats = async () => (await (await page.request.get('/sandbox/clay/stats')).json()) as Record<string, any>;
  await expect.poll(async () => (await stats()).crm?.unauthorized ?? 0, { timeout: 20_000 }).toBe(5);
  await page.goto('/settings/workspaces');
  await hydrated(page);
  const dead = table.getByTestId('dead-forwards');
  await expect(dead).toContainText('5 enriched leads could not be forwarded. Newest: refused by the destination (HTTP 401).');
  await dead.scrollIntoViewIfNeeded();
  await screenshot(page, 'dead-forwards');

  // Fixed: a destination that takes them. The five go again, and the notice is gone.
  await table.getByText('Callback deadline and stream-through').click();
  await form.getByLabel('Forward enriched leads to').fill(`${origin}/sandbox/clay/v3/sources/webhook/crm-fixed`);
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(table.getByTestId('after-clay-summary')).toContainText('/…ixed');
  await table.getByTestId('dead-forwards').getByRole('button', { name: 'Forward them again' }).click();
  await expect(table.getByTestId('dead-forwards')).toHaveCount(0);
  await expect.poll(async () => (await stats())['crm-fixed']?.accepted ?? 0, { timeout: 20_000 }).toBe(5);
});

test('leads held by routing wait in Kiln until an operator sends them to a table', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await sandboxWorkspace(page, {
    workspace: 'Holding',
    budget: '1000',
    table: 'Later',
    credits: '1',
    query: () => 'later?workspace=holding',
  });
  // A rule no row matches, and the rest held.
  const card = page.locator('[data-workspace="Holding"]');
  await card.getByRole('button', { name: 'Add a rule' }).click();
  await card.getByLabel('Rule 1 column').fill('company');
  await card.getByLabel('Rule 1 condition').selectOption('equals');
  await card.getByLabel('Rule 1 value').fill('nobody at all');
  await card.getByLabel('Rule 1 table').selectOption({ label: 'Later' });
  await card.getByTestId('routing-fallback').selectOption({ label: 'hold them (sent only when you choose a table)' });
  await card.getByRole('button', { name: 'Save routing' }).click();
  await expect(card.getByText('Routing saved.')).toBeVisible();

  await upload(page, 'holding', 5, 'Holding: by routing rules');
  const row = page.getByTestId('imports').locator('tbody tr').filter({ hasText: 'holding.csv' });
  await expect(row.getByTestId('delivered')).toHaveText('nothing on its way: every lead is held');
  await expect(row.getByTestId('delivery-parts')).toHaveText('5 held');
  // Nothing to pause; held leads can still be stopped for good.
  await expect(row.getByRole('button', { name: 'Pause' })).toHaveCount(0);
  await expect(row.getByRole('button', { name: 'Stop delivery' })).toHaveCount(1);

  await row.getByTestId('show-held-leads').click();
  const held = page.getByTestId('held-leads');
  await expect(held.getByTestId('held-estimate')).toHaveText(
    "5 held: 5 matched no routing rule. Choose a table for the unrouted ones; 1,000 left in this month's budget.",
  );
  await held.getByRole('button', { name: 'Send them' }).click();
  await expect(held.getByRole('alert')).toContainText('5 held leads matched no routing rule: choose the table');
  await held.getByTestId('held-table').selectOption({ label: 'Later' });
  await expect(held.getByTestId('held-estimate')).toHaveText(
    "5 held: 5 matched no routing rule. Sending them needs about 5 data credits; 1,000 left in this month's budget.",
  );
  await held.scrollIntoViewIfNeeded();
  await screenshot(page, 'held-leads');
  await held.getByRole('button', { name: 'Send them' }).click();
  await expect(held.getByTestId('held-sent')).toBeVisible();
  await expect(held.getByTestId('held-estimate')).toHaveText('No lead of this import is held.');
  await expect(row.getByTestId('delivered')).toHaveText('5 of 5 delivered', { timeout: 20_000 });
  await expect(row).not.toContainText('held');
  // Done: no controls left.
  await expect(row.getByRole('button', { name: 'Pause' })).toHaveCount(0);
  await expect(row.getByRole('button', { name: 'Stop delivery' })).toHaveCount(0);
});

test('saving a webhook row keeps the sends counted since the page was drawn', async ({ page, context }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await sandboxWorkspace(page, {
    workspace: 'Stale count',
    budget: '1000',
    table: 'Counted',
    credits: '1',
    query: () => 'counted?workspace=counted',
  });
  const row = page.locator('[data-workspace="Stale count"] table.webhooks tbody tr');
  await expect(row).toContainText('0 / 45,000');

  // Meanwhile, in another tab, five leads go out through the webhook.
  const other = await context.newPage();
  await upload(other, 'counted', 5, 'Stale count / Counted');
  const sent = other.getByTestId('imports').locator('tbody tr').filter({ hasText: 'counted.csv' });
  await expect(sent.getByTestId('delivered')).toHaveText('5 of 5 delivered', { timeout: 30_000 });

  // The first tab still shows the count it was drawn with; the operator only retires the webhook.
  await expect(row).toContainText('0 / 45,000');
  await row.getByLabel('State').selectOption('retired');
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(row).toContainText('retired');
  await expect(row).toContainText('5 / 45,000');
});
