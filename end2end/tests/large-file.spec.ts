import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADMIN, expect, hydrated, screenshot, signIn, test } from './helpers';

/**
 * A CRM export of over 200 MB, written to disk: a BOM, CRLF line ends, quoted fields with commas,
 * doubled quotes and line breaks. Every 50th row has a broken email; every other 10th repeats the
 * row before it, its email in capitals and padded with spaces. Returns what the account must say.
 */
function crmExport(file: string, rows: number) {
  const out = fs.openSync(file, 'w');
  const counts = { rows, accepted: 0, rejected: 0, duplicates: 0 };
  let chunk = '\ufeffEmail,First Name,Last Name,Company,Website,Country,Notes\r\n';
  for (let i = 1; i <= rows; i++) {
    let email: string;
    let n = i;
    if (i % 50 === 0) {
      email = `broken-${i}.example.com`;
      counts.rejected++;
    } else if (i % 10 === 0) {
      n = i - 1;
      email = `  LEAD${n}@COMPANY${n % 5000}.COM `;
      counts.duplicates++;
    } else {
      email = `lead${n}@company${n % 5000}.com`;
      counts.accepted++;
    }
    const notes = i % 7 === 3 ? '"Met at the fair, Lyon\r\nwants a demo"' : '"Said ""call me in Q3"", owner: sales"';
    chunk += `${email},First${n % 1000},Last${n},"Company ${n % 5000}, Holdings",https://www.company${n % 5000}.com/about,US,${notes}\r\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(out, chunk);
      chunk = '';
    }
  }
  fs.writeSync(out, chunk);
  fs.closeSync(out);
  return counts;
}

const int = (n: number) => n.toLocaleString('en-US');

test('a CRM export of over 200 MB dropped on the page is previewed, uploaded with progress, and accounted for row by row', async ({ page }) => {
  test.setTimeout(300_000);
  const file = path.join(os.tmpdir(), `kiln-crm-export-${process.pid}.csv`);
  const expected = crmExport(file, 1_420_000);
  try {
    expect(fs.statSync(file).size).toBeGreaterThan(200 * 1024 * 1024);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(/\/$/);

    // A workspace that holds what no rule routes: the leads stay in Kiln, none is sent.
    await page.goto('/settings/workspaces');
    await hydrated(page);
    const create = page.getByTestId('create-workspace');
    await create.getByLabel('Name').fill('Bulk');
    await create.getByRole('button', { name: 'Create workspace' }).click();
    const card = page.locator('[data-workspace="Bulk"]');
    const form = card.getByTestId('create-table');
    await form.getByLabel('Table name').fill('Europe');
    await form.getByLabel('Estimated data credits per lead').fill('3');
    await form.getByRole('button', { name: 'Add table' }).click();
    await expect(card.locator('[data-table="Europe"]')).toBeVisible();
    await card.getByRole('button', { name: 'Add a rule' }).click();
    await card.getByLabel('Rule 1 column').fill('Country');
    await card.getByLabel('Rule 1 condition').selectOption('one_of');
    await card.getByLabel('Rule 1 value').fill('FR, DE');
    await card.getByLabel('Rule 1 table').selectOption({ label: 'Europe' });
    await card.getByTestId('routing-fallback').selectOption({ label: 'hold them (sent only when you choose a table)' });
    await card.getByRole('button', { name: 'Save routing' }).click();
    await expect(card.getByText('Routing saved.')).toBeVisible();

    await page.goto('/imports');
    await hydrated(page);
    await page.getByTestId('file-input').setInputFiles(file);
    // Only the head is read in the browser: the preview and the mapping come at once.
    await expect(page.getByTestId('file-facts')).toContainText(/ · 20\d\.\d MB · UTF-8 \(BOM\) · comma-separated · about [\d,]+ rows/);
    await expect(page.getByTestId('preview').locator('tbody tr').first()).toContainText('lead1@company1.com');
    await expect(page.getByLabel('Column for Email')).toHaveValue('0');
    await expect(page.getByLabel('Column for Company')).toHaveValue('3');
    await page.getByTestId('destination').selectOption({ label: 'Bulk: by routing rules' });
    await page.getByTestId('upload').click();
    await expect(page.getByTestId('progress')).toBeVisible();

    const outcome = page.getByTestId('outcome');
    await expect(outcome.getByTestId('count-rows')).toHaveText(int(expected.rows), { timeout: 240_000 });
    await expect(outcome.getByTestId('count-accepted')).toHaveText(int(expected.accepted));
    await expect(outcome.getByTestId('count-rejected')).toHaveText(int(expected.rejected));
    await expect(outcome.getByTestId('count-duplicates')).toHaveText(int(expected.duplicates));
    await expect(outcome.getByTestId('count-held')).toHaveText(int(expected.accepted));
    await expect(outcome.getByTestId('reasons')).toHaveText(new RegExp(`invalid email: ${int(expected.rejected)}`));
    // In the list, the import has nothing on its way to Clay.
    const row = page.getByTestId('imports').locator('tbody tr').first();
    await expect(row.getByTestId('delivered')).toHaveText('nothing on its way: every lead is held');
    await expect(row.getByTestId('delivery-parts')).toHaveText(`${int(expected.accepted)} held`);
    await screenshot(page, 'imports-large-file');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-rejects').click()]);
    const report = fs.readFileSync((await download.path())!, 'utf8');
    expect(report.match(/^\d+,invalid email,broken-/gm)?.length).toBe(expected.rejected);
  } finally {
    fs.rmSync(file, { force: true });
  }
});
