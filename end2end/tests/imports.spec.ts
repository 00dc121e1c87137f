import { ADMIN, expect, hydrated, screenshot, signIn, test } from './helpers';
import type { Page } from '@playwright/test';

const MESSY = [
  'Email,First Name,Last Name,Company,Website,Country,Notes',
  'ada@example.com,Ada,Lovelace,Engines Ltd,engines.co.uk,FR,"likes, commas"',
  '',
  'bob@example.com,Bob,Smith,"Acme ""Rockets""",acme.com,US,"two',
  'lines"',
  'not-an-email,Carl,Jones,Nope,nope.com,DE,',
  'ada@example.com,Ada,Again,Engines Ltd,engines.co.uk,FR,duplicate',
  'too,few',
  '=cmd|calc,Mal,Icious,,,,',
].join('\r\n');

function csvFile(name: string, text: string) {
  return { name, mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') };
}

async function openWorkspaces(page: Page) {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/settings/workspaces');
  await hydrated(page);
}

test('set up a workspace with tables, a webhook and routing rules, and preview the rules on a file', async ({ page }) => {
  await openWorkspaces(page);
  const create = page.getByTestId('create-workspace');
  await create.getByLabel('Name').fill('Acme EU');
  await create.getByLabel('Data-credit budget per month').fill('10');
  await create.getByRole('button', { name: 'Create workspace' }).click();
  const card = page.locator('[data-workspace="Acme EU"]');
  await expect(card).toBeVisible();
  await expect(card.getByTestId('workspace-summary')).toContainText('10 records/s, burst 20');
  await expect(card.getByTestId('workspace-summary')).toContainText('10 data credits a month from day 1');

  for (const [name, credits] of [['Prospects', '2'], ['Priority', '5']]) {
    const form = card.getByTestId('create-table');
    await form.getByLabel('Table name').fill(name);
    await form.getByLabel('Estimated data credits per lead').fill(credits);
    await form.getByRole('button', { name: 'Add table' }).click();
    await expect(card.locator(`[data-table="${name}"]`)).toBeVisible();
  }

  const prospects = card.locator('[data-table="Prospects"]');
  await expect(prospects).toContainText('No webhook yet');
  await prospects.getByText('Add a webhook').click();
  const hook = prospects.getByTestId('add-webhook');
  // A Clay-shaped URL on a closed local port: the worker of this test server never reaches Clay.
  await hook.getByLabel('Webhook URL').fill('https://127.0.0.1:9/v3/sources/webhook/pull-in-data-from-a-webhook-8f2e4c1a');
  await hook.getByLabel('Auth token (optional)').fill('super-secret-token');
  await hook.getByLabel('Already used').fill('1200');
  await hook.getByRole('button', { name: 'Add webhook' }).click();
  await expect(prospects.locator('table.webhooks')).toContainText('https://127.0.0.1:9/…4c1a');
  await expect(prospects.locator('table.webhooks')).toContainText('1,200 / 45,000');
  // The secret never reaches the page.
  expect(await page.content()).not.toContain('pull-in-data-from-a-webhook-8f2e4c1a');
  expect(await page.content()).not.toContain('super-secret-token');

  // http:// to another host is refused with the reason.
  await hook.getByLabel('Webhook URL').fill('http://example.com/hook');
  await hook.getByRole('button', { name: 'Add webhook' }).click();
  await expect(prospects.getByRole('alert')).toContainText('must start with https://');

  await card.getByRole('button', { name: 'Add a rule' }).click();
  await card.getByLabel('Rule 1 column').fill('Country');
  await card.getByLabel('Rule 1 condition').selectOption('one_of');
  await card.getByLabel('Rule 1 value').fill('FR, DE');
  await card.getByLabel('Rule 1 table').selectOption({ label: 'Priority' });
  await card.getByTestId('routing-fallback').selectOption({ label: 'go to Prospects' });
  await card.getByRole('button', { name: 'Save routing' }).click();
  await expect(card.getByText('Routing saved.')).toBeVisible();

  await card.getByTestId('routing-preview-file').setInputFiles(csvFile('sample.csv', MESSY));
  await expect(card.getByTestId('routing-preview')).toHaveText(
    'In the first 6 rows of sample.csv: rule 1 → Priority: 3 rows; no rule, to the fallback table: 3 rows.',
  );
  await screenshot(page, 'workspaces');
});

test('drop a messy file: preview, mapping, upload with progress, counts and the rejects report', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);

  // A real drop event carrying a file.
  const drop = await page.evaluateHandle((text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], 'crm-export.csv', { type: 'text/csv' }));
    return transfer;
  }, MESSY);
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: drop });

  await expect(page.getByTestId('file-facts')).toContainText('crm-export.csv');
  await expect(page.getByTestId('file-facts')).toContainText('UTF-8 · comma-separated');
  const preview = page.getByTestId('preview');
  await expect(preview.locator('thead th')).toHaveText(['Email', 'First Name', 'Last Name', 'Company', 'Website', 'Country', 'Notes']);
  await expect(preview.locator('tbody tr').first()).toContainText('ada@example.com');
  await expect(page.getByLabel('Column for Email')).toHaveValue('0');
  await expect(page.getByLabel('Column for Website / domain')).toHaveValue('4');
  await expect(page.getByTestId('budget-estimate')).toContainText('left in this month');
  await screenshot(page, 'imports-preview');

  // By rules, the estimate follows the routes of the rows read: 3 to Priority at 5 credits, 3 to
  // Prospects at 2, so 3.5 a row, against 2 a row to Prospects alone. The file was read whole:
  // its rows are counted.
  await page.getByTestId('destination').selectOption({ label: 'Acme EU: by routing rules' });
  await expect(page.getByTestId('budget-estimate')).toContainText(
    'About 6 rows, about 21 data credits if all are accepted (as the rules route the first 6 rows)',
  );
  await page.getByTestId('destination').selectOption({ label: 'Acme EU / Prospects' });
  await expect(page.getByTestId('budget-estimate')).toContainText('About 6 rows, about 12 data credits if all are accepted;');

  // Every row of the file's head is routed, not only those in the preview: 8 rows to Prospects
  // first, then 12 to Priority, 8 × 2 + 12 × 5 = 76; the preview still shows 8 rows.
  const sorted = ['Email,Country']
    .concat(Array.from({ length: 20 }, (_, i) => `lead${i}@example.com,${i < 8 ? 'US' : 'FR'}`))
    .join('\n');
  await page.getByTestId('file-input').setInputFiles(csvFile('sorted.csv', `${sorted}\n`));
  await expect(page.getByTestId('file-facts')).toContainText('sorted.csv');
  await expect(preview.locator('tbody tr')).toHaveCount(8);
  await page.getByTestId('destination').selectOption({ label: 'Acme EU: by routing rules' });
  await expect(page.getByTestId('budget-estimate')).toContainText(
    'About 20 rows, about 76 data credits if all are accepted (as the rules route the first 20 rows)',
  );
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: drop });
  await expect(page.getByTestId('file-facts')).toContainText('crm-export.csv');
  await page.getByTestId('destination').selectOption({ label: 'Acme EU / Prospects' });
  await page.getByTestId('upload').click();
  const outcome = page.getByTestId('outcome');
  await expect(outcome.getByTestId('count-rows')).toHaveText('6');
  await expect(outcome.getByTestId('count-accepted')).toHaveText('2');
  await expect(outcome.getByTestId('count-rejected')).toHaveText('3');
  await expect(outcome.getByTestId('count-duplicates')).toHaveText('1');
  await expect(outcome.getByTestId('reasons')).toContainText('invalid email: 2');
  await expect(outcome.getByTestId('reasons')).toContainText('wrong number of fields: 1');
  await expect(page.getByTestId('imports').locator('tbody tr').first()).toContainText('crm-export.csv');
  await screenshot(page, 'imports-done');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-rejects').click()]);
  const path = await download.path();
  const report = require('node:fs').readFileSync(path, 'utf8');
  expect(report).toContain('line,reason,Email,First Name');
  expect(report).toContain('6,invalid email,not-an-email,Carl,Jones,Nope,nope.com,DE,');
  expect(report).toContain('8,wrong number of fields,too,few');
  expect(report).toContain("9,invalid email,'=cmd|calc,Mal,Icious");
});

test('a mapping chosen on the page is the one the server uses', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);
  await page.getByTestId('file-input').setInputFiles(csvFile('odd.csv', 'Contact,Mail Address\nnobody,zed@example.org\n'));
  await expect(page.getByLabel('Column for Email')).toHaveValue('');
  await page.getByLabel('Column for Email').selectOption({ label: 'Mail Address' });
  await page.getByTestId('destination').selectOption({ label: 'Acme EU / Prospects' });
  await page.getByTestId('upload').click();
  await expect(page.getByTestId('count-accepted')).toHaveText('1');
});

test('a UTF-16 file is previewed, and its rows estimated in its own bytes', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);
  // 8,000 rows of 42 bytes (21 characters, two bytes each), 336 KB: more than the 256 KB head read.
  const rows = Array.from({ length: 8_000 }, (_, i) => `lead${String(i).padStart(5, '0')}@exampl.co`).join('\r\n');
  const buffer = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`email\r\n${rows}\r\n`, 'utf16le')]);
  await page.getByTestId('file-input').setInputFiles({ name: 'utf16.csv', mimeType: 'text/csv', buffer });
  await expect(page.getByTestId('file-facts')).toContainText('UTF-16LE');
  await expect(page.getByTestId('file-facts')).toContainText('about 8,000 rows');
  await expect(page.getByTestId('preview').locator('tbody tr').first()).toContainText('lead00000@exampl.co');
});

test('over the budget the operator chooses; a slow upload shows progress and can be cancelled', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);
  // 2 credits a lead, 10 a month, 2 already committed: 8 rows need 16.
  const rows = Array.from({ length: 8 }, (_, i) => `lead${i}@budget.example.com`).join('\n');
  await page.getByTestId('file-input').setInputFiles(csvFile('big.csv', `email\n${rows}\n`));
  await page.getByTestId('destination').selectOption({ label: 'Acme EU / Prospects' });
  await expect(page.getByTestId('budget-estimate')).toContainText('more than the budget');
  await page.getByTestId('upload').click();
  const decision = page.getByTestId('outcome').getByTestId('decision');
  await expect(decision).toBeVisible();
  await decision.getByRole('button', { name: 'Queue only what fits' }).click();
  await expect(decision.getByText(/Queued; \d+ leads held\./)).toBeVisible();

  // Throttle the upload so the progress bar can be seen, then cancel.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 64 * 1024 });
  const big = 'email,notes\n' + Array.from({ length: 20000 }, (_, i) => `slow${i}@example.com,${'x'.repeat(40)}`).join('\n');
  await page.getByTestId('file-input').setInputFiles(csvFile('slow.csv', big));
  await expect(page.getByTestId('file-facts')).toContainText('slow.csv');
  await page.getByTestId('upload').click();
  const progress = page.getByTestId('progress');
  await expect(progress).toBeVisible();
  await expect(progress).toContainText(/\d+% · [\d,.]+ (bytes|KB|MB) of 1\.2 MB · about [\d,]+ rows/);
  await screenshot(page, 'imports-progress');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByText('Upload cancelled')).toBeVisible();
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('imports').locator('tbody tr').first()).toContainText('cancelled');
});

test('the imports page refreshes its list while open, and stops its timer once the operator leaves it', async ({ page }) => {
  // Count the page's live timers: a timer left behind by a page that is gone fires for ever.
  await page.addInitScript(() => {
    const live = new Set<number>();
    (window as unknown as { kilnTimers: Set<number> }).kilnTimers = live;
    const set = window.setInterval.bind(window);
    const clear = window.clearInterval.bind(window);
    window.setInterval = ((handler: TimerHandler, timeout?: number, ...rest: unknown[]) => {
      const id = set(handler, timeout, ...rest);
      live.add(id);
      return id;
    }) as typeof window.setInterval;
    window.clearInterval = (id?: number) => {
      if (id !== undefined) live.delete(id);
      clear(id);
    };
  });
  const liveTimers = () => page.evaluate(() => (window as unknown as { kilnTimers: Set<number> }).kilnTimers.size);
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);
  let refreshes = 0;
  page.on('request', (request) => {
    if (request.url().includes('/api/recent_imports')) refreshes += 1;
  });
  // Every 3 s while the page is open.
  await expect.poll(() => refreshes, { timeout: 8_000 }).toBeGreaterThan(0);
  const open = await liveTimers();

  // Client-side navigation: the app stays loaded, the imports page goes, and its timer with it.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Planner' }).click();
  await expect(page.getByRole('heading', { name: 'Planner', level: 1 })).toBeVisible();
  expect(await liveTimers()).toBe(open - 1);
  const left = refreshes;
  await page.waitForTimeout(7_000);
  expect(refreshes).toBe(left);
});

test('a new import joins the list above the others, and each row stays with its import', async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto('/imports');
  await hydrated(page);
  const upload = async (name: string, email: string) => {
    await page.getByTestId('file-input').setInputFiles(csvFile(name, `email\n${email}\n`));
    await page.getByTestId('destination').selectOption({ label: 'Acme EU / Prospects' });
    await page.getByTestId('upload').click();
    await expect(page.getByTestId('outcome').getByTestId('count-accepted')).toHaveText('1');
  };
  await upload('kept-first.csv', 'kept.first@example.org');
  const rows = page.getByTestId('imports').locator('tbody tr');
  await expect(rows.first()).toContainText('kept-first.csv');
  // The element the operator sees for that import, and may be about to click in.
  const seen = await rows.first().elementHandle();

  await upload('kept-second.csv', 'kept.second@example.org');
  await expect(rows.first()).toContainText('kept-second.csv');
  // Still in the page, one row down, and still about the same import: a list that reused its
  // rows by position would now show the newest import there.
  expect(await seen!.evaluate((row) => row.isConnected)).toBe(true);
  expect(await seen!.textContent()).toContain('kept-first.csv');
  await expect(rows.nth(1)).toContainText('kept-first.csv');
});
