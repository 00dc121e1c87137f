import { ADMIN, expect, hydrated, screenshot, signIn, test } from './helpers';
import type { Page } from '@playwright/test';

const out = (page: Page, id: string) => page.getByTestId(id);

async function openPlanner(page: Page, query = '') {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/$/);
  await page.goto(`/planner${query}`);
  await hydrated(page);
}

test('the seed example, and typing recomputes in the browser without a request', async ({ page }) => {
  await openPlanner(page);
  await expect(out(page, 'data-credits-month')).toHaveText('300,000');
  await expect(out(page, 'data-credits-worst')).toHaveText('300,000');
  await expect(out(page, 'actions-month')).toHaveText('50,000');
  await expect(out(page, 'webhooks-year')).toHaveText('12');
  await expect(out(page, 'tables')).toHaveText('5');
  await expect(out(page, 'plan')).toHaveText('Enterprise');
  await expect(out(page, 'send-hours')).toHaveText('1.4 h');
  await expect(out(page, 'warnings')).toContainText('Webhooks run out within the month');
  await screenshot(page, 'planner');

  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  const leads = page.getByTestId('monthly-leads');
  await leads.fill('');
  await leads.pressSequentially('100000');
  await expect(out(page, 'data-credits-month')).toHaveText('600,000');
  await expect(out(page, 'webhooks-year')).toHaveText('24');
  await expect(out(page, 'tables')).toHaveText('10');
  const credits = page.getByTestId('credits-per-lead');
  await credits.fill('');
  await credits.pressSequentially('0.5');
  await expect(out(page, 'data-credits-month')).toHaveText('50,000');
  await expect(out(page, 'plan')).toHaveText('Growth + 44,000 data credits + 60,000 Actions expansion');
  await page.getByTestId('simple-own-key').check();
  await expect(out(page, 'data-credits-month')).toHaveText('0');
  await expect(out(page, 'actions-month')).toHaveText('100,000');
  expect(requests, 'no request while typing').toEqual([]);

  // The address follows, so the link reproduces the scenario.
  expect(page.url()).toContain('leads=100000');
  expect(page.url()).toContain('cpl=0.5');
  expect(page.url()).toContain('own=1');

  // Quick volumes answer 10K / 100K / 1M in one click each.
  await page.getByTestId('simple-own-key').uncheck();
  await page.getByRole('button', { name: '1M', exact: true }).click();
  await expect(page.getByTestId('monthly-leads')).toHaveValue('1000000');
  await expect(out(page, 'send-hours')).toHaveText('27.8 h');
  await expect(out(page, 'webhooks-year')).toHaveText('240');
});

test('recipe mode: presets, the waterfall, own keys, and back to simple', async ({ page }) => {
  await openPlanner(page, '?leads=10000&cpl=6');
  await page.getByTestId('mode-recipe').check();
  // The email waterfall: 2 + 2×0.5 + 2×0.325 + 5×0.2275 = 4.7875 credits a lead.
  await expect(page.getByTestId('per-lead')).toContainText('4.79 data credits expected (11 if every step runs)');
  await expect(out(page, 'data-credits-month')).toHaveText('47,875');
  await expect(out(page, 'data-credits-worst')).toHaveText('110,000');
  await expect(out(page, 'actions-month')).toHaveText('20,525');

  await page.getByTestId('recipe-preset').selectOption('company');
  await expect(page.getByTestId('recipe-steps').locator('tbody tr')).toHaveCount(1);
  await expect(out(page, 'data-credits-month')).toHaveText('80,000');

  await page.getByTestId('recipe-preset').selectOption('email');
  const own = page.getByRole('checkbox', { name: /own key$/ });
  await expect(own).toHaveCount(4);
  for (const box of await own.all()) await box.check();
  await expect(out(page, 'data-credits-month')).toHaveText('0');
  await expect(out(page, 'actions-month')).toHaveText('20,525');

  // Editing a step's hit rate changes what the later steps cost.
  await page.getByRole('checkbox', { name: 'Step 4 own key' }).uncheck();
  await page.getByLabel('Step 1 hit rate').fill('100');
  await expect(out(page, 'data-credits-month')).toHaveText('0');
  await page.getByLabel('Step 1 hit rate').fill('0');
  await expect(out(page, 'data-credits-month')).toHaveText('22,750');
  await page.getByRole('button', { name: 'Step 2 remove' }).click();
  await expect(page.getByTestId('recipe-steps').locator('tbody tr')).toHaveCount(3);
  // The rows moved up show their own steps: Hunter (own key) and People Data Labs (not).
  await expect(page.getByLabel('Step 2 name')).toHaveValue('Hunter');
  await expect(page.getByLabel('Step 2 own key')).toBeChecked();
  await expect(page.getByLabel('Step 3 name')).toHaveValue('People Data Labs');
  await expect(page.getByLabel('Step 3 own key')).not.toBeChecked();
  await expect(page.getByLabel('Step 3 hit rate')).toHaveValue('25');
  // 0% then Hunter (own key, misses 70%), then 5 credits × 0.7 × 10,000.
  await expect(out(page, 'data-credits-month')).toHaveText('35,000');
  await screenshot(page, 'planner-recipe');

  await page.getByTestId('mode-simple').check();
  await expect(page.getByTestId('credits-per-lead')).toHaveValue('6');
  await expect(out(page, 'data-credits-month')).toHaveText('60,000');
  await page.getByTestId('mode-recipe').check();
  await expect(page.getByTestId('recipe-steps').locator('tbody tr')).toHaveCount(3);
});

test('a shared link opens the same scenario', async ({ page }) => {
  await openPlanner(page, '?leads=250000&mode=recipe&steps=Prospeo~2~50~|Hunter~2~40~k&aicr=0.5&ai=1&cb=1&plan=growth');
  await expect(page.getByTestId('mode-recipe')).toBeChecked();
  await expect(page.getByLabel('Step 1 name')).toHaveValue('Prospeo');
  await expect(page.getByLabel('Step 2 own key')).toBeChecked();
  // 2 + 0.5 prompt credits a lead; 1 + 0.5 lookups + 1 prompt + 1 callback Actions.
  await expect(out(page, 'data-credits-month')).toHaveText('625,000');
  await expect(out(page, 'actions-month')).toHaveText('875,000');
  await expect(page.getByTestId('plan-choice')).toHaveValue('growth');
  await expect(out(page, 'warnings')).toContainText("Growth's Actions are short");
  await expect(out(page, 'warnings')).toContainText("Growth's data credits are short");
});

test('the cost chart marks plan boundaries and the current volume', async ({ page }) => {
  await openPlanner(page, '?leads=50000&cpl=0.5');
  const chart = page.getByTestId('cost-chart');
  await expect(chart.locator('line.boundary[data-boundary="200001"]')).toHaveCount(1);
  await expect(chart.locator('[data-marker="50000"]')).toHaveCount(1);
  expect(await chart.locator('circle.cost-dot').count()).toBeGreaterThan(10);
  await expect(chart.locator('text.zone-label')).toHaveText('Custom pricing (Enterprise)');
  await page.getByRole('button', { name: '100K', exact: true }).click();
  await expect(chart.locator('[data-marker="100000"]')).toHaveCount(1);
});

test('save scenarios, reopen one, and compare them side by side', async ({ page }) => {
  await openPlanner(page, '?leads=20000&cpl=3');
  const save = page.getByTestId('save-scenario');
  await save.getByLabel('Name').fill('Small team');
  await save.getByRole('button', { name: 'Save scenario' }).click();
  await expect(page.getByText('Saved as “Small team”.')).toBeVisible();

  await page.getByRole('button', { name: '1M', exact: true }).click();
  await save.getByLabel('Name').fill('Scale');
  await save.getByRole('button', { name: 'Save scenario' }).click();
  await expect(page.getByTestId('saved-scenarios').locator('tr[data-scenario]')).toHaveCount(2);

  // Reopen the first: inputs and outputs come back.
  await page.getByTestId('saved-scenarios').locator('tr[data-scenario="Small team"]').getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('monthly-leads')).toHaveValue('20000');
  await expect(page.getByTestId('credits-per-lead')).toHaveValue('3');
  await expect(out(page, 'data-credits-month')).toHaveText('60,000');

  await page.getByRole('checkbox', { name: 'Compare Small team' }).check();
  await page.getByRole('checkbox', { name: 'Compare Scale' }).check();
  await page.getByTestId('compare-link').click();
  await expect(page).toHaveURL(/\/planner\/compare\?ids=/);
  const table = page.getByTestId('comparison');
  await expect(table.locator('thead th')).toHaveCount(3);
  await expect(table.getByTestId('data-credits-month')).toHaveText(['60,000', '3,000,000']);
  await expect(table.getByTestId('tables')).toHaveText(['2', '100']);
  await screenshot(page, 'planner-compare');
});

test('an admin edits the plan catalog and the planner uses it at once', async ({ page }) => {
  // 5,000 leads × 6 credits: Growth + 24,000 credits at $82.50 per 1,000 = $2,475.
  await openPlanner(page, '?leads=5000&cpl=6');
  await expect(out(page, 'monthly-cost')).toHaveText('$2,475');
  await page.getByText('Plan catalog').click();
  const growth = page.getByTestId('plan-catalog').locator('tr[data-plan="growth"]');
  await growth.getByLabel('Monthly price', { exact: true }).fill('595');
  await growth.getByRole('button', { name: 'Save' }).click();
  await expect(growth.getByText('saved')).toBeVisible();
  await expect(out(page, 'monthly-cost')).toHaveText('$2,575');
  await screenshot(page, 'planner-catalog');
  // Put it back for the other tests.
  await growth.getByLabel('Monthly price', { exact: true }).fill('495');
  await growth.getByRole('button', { name: 'Save' }).click();
  await expect(out(page, 'monthly-cost')).toHaveText('$2,475');
});
