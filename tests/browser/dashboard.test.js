// The dashboard in a real browser: Debian's headless Chromium driven by
// playwright-core, against `tally demo` started on a free port over a fresh
// data directory. Every number checked on screen is compared with what the
// analytics API answers to the same session. Screenshots of every page go
// to test-output/screenshots/.
//
// The demo keeps sending a little live traffic, so exact comparisons use
// ranges that end before today; ranges that include today are checked to
// lie between two API reads taken before and after the page loaded.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { launchBrowser } from './lib/browser.js';
import {
  ROLES, addDays, apiGet, apiJson, assertStatsEqual, chartOf, compact, int, query, rangeOf, screenshot, settled, signIn, stats,
  todayIn, usd, usdExact,
} from './lib/helpers.js';
import { startTally } from './lib/server.js';

const TZ = 'Europe/Berlin';
let server;
let browser;
const sessions = {};

before(async () => {
  server = await startTally();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

afterEach(() => {
  for (const [role, page] of Object.entries(sessions)) {
    assert.deepEqual(page.problems, [], `no script errors in the ${role}'s page`);
  }
});

/** One signed-in page per role, reused across tests. */
async function as(role) {
  if (!sessions[role]) sessions[role] = (await signIn(browser, server.baseUrl, ROLES[role])).page;
  return sessions[role];
}

/** A 30-day range that ends yesterday in `tz`: no live traffic lands in it. */
function pastRange(tz = TZ) {
  const to = addDays(todayIn(tz), -1);
  return { from: addDays(to, -29), to };
}

async function orgs(page) {
  const me = await apiJson(page, '/api/me');
  return {
    acme: me.organizations.find((o) => o.name === 'Acme Robotics'),
    hobby: me.organizations.find((o) => o.name === 'Hobby Lab'),
  };
}

async function goto(page, url) {
  await page.goto(url);
  await settled(page);
}

/** The rank chart's expected rows: models sorted by `metric`, top ten plus "Other". */
function expectedRanking(models, metric) {
  const value = (u) => (metric === 'cost' ? Number(u.cost) : metric === 'requests' ? u.requests : u.tokens.total);
  const big = (u) => (metric === 'cost' ? BigInt(u.cost.replace('.', '')) : BigInt(metric === 'requests' ? u.requests : u.tokens.total));
  const sorted = [...models].sort((a, b) => (big(b.usage) > big(a.usage) ? 1 : big(b.usage) < big(a.usage) ? -1 : 0));
  if (sorted.length <= 11) return sorted.map((m) => ({ label: m.model ?? '(no model)', value: value(m.usage) }));
  const rest = sorted.slice(10);
  return [
    ...sorted.slice(0, 10).map((m) => ({ label: m.model ?? '(no model)', value: value(m.usage) })),
    { label: `Other (${rest.length} models)`, value: rest.reduce((a, m) => a + value(m.usage), 0) },
  ];
}

function assertRanking(chart, models, metric, what) {
  const expected = expectedRanking(models, metric);
  assert.deepEqual(chart.categories, expected.map((r) => r.label), `${what}: bar order by ${metric}`);
  chart.series[0].values.forEach((v, i) => {
    assert.ok(Math.abs(v - expected[i].value) <= 1e-6 * Math.max(1, expected[i].value), `${what}: bar ${expected[i].label} is ${expected[i].value}, got ${v}`);
  });
}

describe('signing in', () => {
  test('an anonymous visit goes to the login page, which refuses a wrong password and then signs in', async () => {
    const context = await browser.newContext({ baseURL: server.baseUrl, viewport: { width: 1280, height: 900 }, timezoneId: TZ });
    const page = await context.newPage();
    await page.goto('/keys');
    await page.waitForURL(/\/login\?next=%2Fkeys/);
    await settled(page);
    await screenshot(page, 'login');
    await page.getByLabel('E-mail').fill(ROLES.owner);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'do not match' }).waitFor();
    await screenshot(page, 'login-error');
    await page.getByLabel('Password').fill('tally-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/keys\?/);
    await settled(page);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'API Keys');
    await context.close();
  });

  for (const role of ['owner', 'admin', 'developer']) {
    test(`the ${role} lands on Analytics with the whole view in the URL, totals equal to the API's`, async () => {
      const page = await as(role);
      const q = query(page);
      const today = todayIn(TZ);
      assert.equal(q.tz, TZ, 'the browser time zone is the default');
      assert.equal(q.to, today);
      assert.equal(q.from, addDays(today, -29), 'the default range is the last 30 days');
      assert.ok(q.org && q.project, 'organization and project are in the URL');
      assert.match(await page.locator('.range-button').textContent(), /Last 30 days/);
      assert.equal(await page.locator('#org-select').inputValue(), q.org);
      assert.equal(await page.locator('#project-select').inputValue(), q.project);
      assert.equal(await page.locator('.nav-link[aria-current="page"]').textContent(), 'Analytics');

      const { from, to } = pastRange();
      await goto(page, `/analytics?org=${q.org}&project=${q.project}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
      const api = await apiJson(page, `/api/analytics/models?projectId=${q.project}&${rangeOf(page)}`);
      assert.ok(api.totals.requests > 0, 'the demo has traffic in the range');
      await assertStatsEqual(page, api.totals, `${role} analytics`);
      const footer = page.locator('[data-table="models"] tfoot td[data-exact]');
      assert.equal(await footer.getAttribute('data-exact'), api.totals.cost);
      assert.equal(await page.locator('[data-table="models"] tbody tr').count(), api.models.length);
      assertRanking(await chartOf(page, '[data-card="rank"]'), api.models, 'cost', `${role} Cost by Model`);
      await screenshot(page, `analytics-${role}`);
    });
  }
});

describe('analytics', () => {
  test('tabs, the Mappings / Canonical toggle and keyboard switching follow the API and the URL', async () => {
    const page = await as('owner');
    const { from, to } = pastRange();
    const { acme } = await orgs(page);
    await goto(page, `/analytics?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    const project = query(page).project;
    const scope = `projectId=${project}&${rangeOf(page)}`;
    const models = (await apiJson(page, `/api/analytics/models?${scope}`)).models;

    const rank = page.locator('[data-card="rank"]');
    assert.equal(await rank.getByRole('tablist').count(), 1);
    await rank.getByRole('tab', { name: 'Requests' }).click();
    await page.waitForURL(/tab=requests/);
    await page.waitForSelector('[data-card="rank"] .chart[data-metric="requests"][data-chart-ready]');
    assert.equal(await rank.getByRole('tab', { name: 'Requests' }).getAttribute('aria-selected'), 'true');
    assertRanking(await chartOf(page, '[data-card="rank"]'), models, 'requests', 'Requests tab');

    // Arrow keys move along the tabs and select them.
    await rank.getByRole('tab', { name: 'Requests' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/tab=tokens/);
    await page.waitForSelector('[data-card="rank"] .chart[data-metric="tokens"][data-chart-ready]');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Tokens');
    assertRanking(await chartOf(page, '[data-card="rank"]'), models, 'tokens', 'Tokens tab');

    // Over time: the canonical view, then requests per bucket.
    const over = page.locator('[data-card="over-time"]');
    await over.getByRole('radio', { name: 'Canonical' }).click();
    await page.waitForURL(/view=canonical/);
    await page.waitForSelector('[data-card="over-time"] .chart[data-view="canonical"][data-chart-ready]');
    const ts = await apiJson(page, `/api/analytics/models/timeseries?${scope}&view=canonical&interval=day`);
    let chart = await chartOf(page, '[data-card="over-time"]');
    const byCost = ts.models.map((name, m) => ({ name, total: ts.buckets.reduce((a, b) => a + BigInt(b.cost[m].replace('.', '')), 0n) }))
      .sort((a, b) => (b.total > a.total ? 1 : b.total < a.total ? -1 : 0));
    const expectedNames = byCost.length > 7
      ? [...byCost.slice(0, 6).map((x) => x.name), `Other (${byCost.length - 6})`]
      : byCost.map((x) => x.name);
    assert.deepEqual(chart.series.map((s) => s.name), expectedNames, 'top canonical models plus Other');
    assert.equal(chart.categories.length, ts.buckets.length, 'one point per day of the range');
    ts.buckets.forEach((b, i) => {
      const api = b.cost.reduce((a, c) => a + Number(c), 0);
      const drawn = chart.series.reduce((a, s) => a + s.values[i], 0);
      assert.ok(Math.abs(api - drawn) < 1e-7, `cost of ${b.start}: ${api} vs ${drawn}`);
    });

    await over.getByRole('tab', { name: 'Requests' }).click();
    await page.waitForURL(/ttab=requests/);
    await page.waitForSelector('[data-card="over-time"] .chart[data-metric="requests"][data-chart-ready]');
    chart = await chartOf(page, '[data-card="over-time"]');
    ts.buckets.forEach((b, i) => {
      assert.equal(chart.series.reduce((a, s) => a + s.values[i], 0), b.requests.reduce((a, c) => a + c, 0), `requests of ${b.start}`);
    });

    // The tooltip shows exact values.
    await page.locator('[data-card="over-time"] .chart').scrollIntoViewIfNeeded();
    const box = await page.locator('[data-card="over-time"] .chart').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3);
    const tip = page.locator('.tt-total').first();
    await tip.waitFor();
    assert.match(await tip.textContent(), /Total requests\d[\d,]*/);
    await screenshot(page, 'analytics-tooltip', { fullPage: false });
    await screenshot(page, 'analytics-tabs-canonical');

    // The link reproduces the view.
    const link = page.url();
    const twin = await page.context().newPage();
    await goto(twin, link);
    assert.equal(await twin.locator('[data-card="rank"]').getByRole('tab', { name: 'Tokens' }).getAttribute('aria-selected'), 'true');
    assert.equal(await twin.locator('[data-card="over-time"]').getByRole('radio', { name: 'Canonical' }).getAttribute('aria-checked'), 'true');
    assert.equal(await twin.locator('[data-card="over-time"]').getByRole('tab', { name: 'Requests' }).getAttribute('aria-selected'), 'true');
    assert.deepEqual(await stats(twin), await stats(page));
    await twin.close();
  });

  test('the date range picker and the time zone drive the URL and every number', async () => {
    const page = await as('owner');
    const { acme } = await orgs(page);
    await goto(page, `/analytics?org=${acme.id}&tz=${encodeURIComponent(TZ)}`);
    const project = query(page).project;
    const requested = [];
    const record = (r) => {
      if (r.url().includes('/api/analytics/')) requested.push(new URL(r.url()));
    };
    page.on('request', record);
    const today = todayIn(TZ);

    // Last month: entirely in the past, so exactly the API's numbers.
    await page.locator('.range-button').click();
    await page.getByRole('dialog', { name: 'Date range' }).waitFor();
    await screenshot(page, 'range-picker');
    await page.locator('[data-preset="last-month"]').click();
    const firstOfMonth = `${today.slice(0, 8)}01`;
    const lastMonthEnd = addDays(firstOfMonth, -1);
    await page.waitForURL((u) => u.searchParams.get('to') === lastMonthEnd);
    await settled(page);
    assert.equal(query(page).from, `${lastMonthEnd.slice(0, 8)}01`);
    assert.match(await page.locator('.range-button').textContent(), /Last month/);
    let api = await apiJson(page, `/api/analytics/models?projectId=${project}&${rangeOf(page)}`);
    await assertStatsEqual(page, api.totals, 'last month');

    // Last 7 days includes today: the page's numbers lie between two API reads.
    const before7 = await apiJson(page, `/api/analytics/models?projectId=${project}&from=${addDays(today, -6)}&to=${today}&timezone=${encodeURIComponent(TZ)}`);
    await page.locator('.range-button').click();
    await page.locator('[data-preset="7d"]').click();
    await page.waitForURL((u) => u.searchParams.get('from') === addDays(today, -6) && u.searchParams.get('to') === today);
    await settled(page);
    const after7 = await apiJson(page, `/api/analytics/models?projectId=${project}&${rangeOf(page)}`);
    const shown = Number((await stats(page)).requests.text.replace(/,/g, ''));
    assert.ok(before7.totals.requests <= shown && shown <= after7.totals.requests, `${before7.totals.requests} <= ${shown} <= ${after7.totals.requests}`);
    assert.equal((await chartOf(page, '[data-card="over-time"]')).categories.length, 7, 'seven days, one point each');

    // Today: hourly buckets.
    await page.locator('.range-button').click();
    await page.locator('[data-preset="today"]').click();
    await page.waitForURL((u) => u.searchParams.get('from') === today && u.searchParams.get('to') === today);
    await settled(page);
    const hours = (await chartOf(page, '[data-card="over-time"]')).categories;
    assert.ok(hours.length >= 23 && hours.length <= 25, `a day of hours, got ${hours.length}`);
    assert.ok(requested.some((u) => u.pathname.endsWith('/timeseries') && u.searchParams.get('interval') === 'hour'));

    // A custom range, typed in.
    const { from, to } = pastRange();
    await page.locator('.range-button').click();
    await page.getByLabel('From', { exact: true }).fill(from);
    await page.getByLabel('To', { exact: true }).fill(to);
    await page.getByRole('button', { name: 'Apply range' }).click();
    await page.waitForURL((u) => u.searchParams.get('from') === from && u.searchParams.get('to') === to);
    await settled(page);
    assert.match(await page.locator('.range-button').textContent(), /Custom range/);
    api = await apiJson(page, `/api/analytics/models?projectId=${project}&${rangeOf(page)}`);
    await assertStatsEqual(page, api.totals, 'custom range');
    await screenshot(page, 'analytics-custom-range');

    // The time zone: the same days counted in Kolkata.
    requested.length = 0;
    await page.getByLabel('Time zone').selectOption('Asia/Kolkata');
    await page.waitForURL(/tz=Asia%2FKolkata/);
    await settled(page);
    assert.equal(query(page).from, from, 'custom days stay the same days');
    assert.ok(requested.length > 0 && requested.every((u) => u.searchParams.get('timezone') === 'Asia/Kolkata'), 'every analytics call uses the zone');
    const kolkata = await apiJson(page, `/api/analytics/models?projectId=${project}&${rangeOf(page)}`);
    await assertStatsEqual(page, kolkata.totals, 'Asia/Kolkata');
    assert.match(await page.locator('.page-sub').first().textContent(), /Asia\/Kolkata/);

    // Back restores the previous zone and its numbers.
    await page.goBack();
    await page.waitForURL(/tz=Europe%2FBerlin/);
    await settled(page);
    assert.equal(await page.getByLabel('Time zone').inputValue(), TZ);
    await assertStatsEqual(page, api.totals, 'back to Berlin');
    page.off('request', record);
  });

  test('the default time zone is the browser\'s, by its current IANA name', async () => {
    // Chromium reports India's zone by its old name, Asia/Calcutta.
    for (const zone of ['America/New_York', 'Asia/Kolkata']) {
      const { context, page } = await signIn(browser, server.baseUrl, ROLES.admin, { timezoneId: zone });
      const q = query(page);
      assert.equal(q.tz, zone);
      assert.equal(q.to, todayIn(zone));
      assert.equal(await page.getByLabel('Time zone').inputValue(), zone);
      assert.match(await page.locator('.page-sub').first().textContent(), new RegExp(zone));
      await context.close();
    }
  });

  test('loading, error and empty states', async () => {
    const page = await as('owner');
    const { acme, hobby } = await orgs(page);
    const { from, to } = pastRange();
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    const modelsCall = (url) => url.pathname === '/api/analytics/models';
    await page.route(modelsCall, async (route) => {
      await held;
      await route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":{"code":"internal","message":"internal error"}}' });
    });
    await page.goto(`/analytics?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    await page.locator('[data-card="rank"] .state-loading').waitFor();
    assert.ok(await page.locator('.stat-loading').count() > 0, 'cards show placeholders while loading');
    await screenshot(page, 'state-loading');
    release();
    await page.locator('[data-card="rank"] .state-error').waitFor();
    assert.match(await page.locator('[data-card="rank"] .state-error').textContent(), /internal error/);
    await screenshot(page, 'state-error');
    await page.unroute(modelsCall);
    await page.locator('[data-card="rank"]').getByRole('button', { name: 'Try again' }).click();
    await page.waitForSelector('[data-card="rank"] .chart[data-chart-ready]');

    // An organization without traffic: the empty state.
    await goto(page, `/analytics?org=${hobby.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    assert.ok(await page.getByText('No usage in this range').first().isVisible());
    assert.equal((await stats(page)).cost.text, '$0.00');
    await screenshot(page, 'analytics-empty');
  });
});

describe('API keys', () => {
  test('the table matches the API, a new key is shown once with a copy button, revoking asks first', async () => {
    const page = await as('owner');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl });
    const { acme } = await orgs(page);
    await goto(page, `/keys?org=${acme.id}`);
    const project = query(page).project;
    const projectKeys = await apiJson(page, `/api/projects/${project}/api-keys`);
    assert.equal(await page.locator('[data-table="keys"] tbody tr').count(), projectKeys.length);
    for (const k of projectKeys) {
      const row = page.locator(`tr[data-key-id="${k.id}"]`);
      assert.equal(await row.locator('.key-mask').textContent(), k.maskedKey);
      assert.equal(await row.getAttribute('data-status'), k.status);
      assert.match(await row.textContent(), new RegExp(k.createdBy.name));
    }
    await page.getByRole('radio', { name: 'All projects' }).click();
    await page.waitForURL(/scope=all/);
    await settled(page);
    const orgKeys = await apiJson(page, `/api/organizations/${acme.id}/api-keys`);
    assert.equal(await page.locator('[data-table="keys"] tbody tr').count(), orgKeys.length);
    await screenshot(page, 'keys');

    // Create: the secret once, copied to the clipboard.
    await page.getByRole('button', { name: 'Create key' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create an API key' });
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill('browser-test-key');
    await dialog.getByLabel('Expires').selectOption({ label: 'In 30 days' });
    await dialog.getByLabel('Requests per minute').fill('600');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const secretInput = dialog.getByLabel('New API key');
    await secretInput.waitFor();
    const secret = await secretInput.inputValue();
    assert.match(secret, /^tly_[0-9A-Za-z]{43}$/);
    await screenshot(page, 'key-created');
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Copied', { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    await settled(page);
    const created = (await apiJson(page, `/api/organizations/${acme.id}/api-keys`)).find((k) => k.name === 'browser-test-key');
    assert.ok(created, 'the API lists the new key');
    const days = (Date.parse(created.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in 30 days: ${created.expiresAt}`);
    assert.equal(created.requestsPerMinute, 600);
    assert.equal(created.tokensPerMinute, null);
    const row = page.locator(`tr[data-key-id="${created.id}"]`);
    assert.equal(await row.locator('.key-mask').textContent(), `tly_…${secret.slice(-4)}`);
    assert.match(await row.locator('[data-label="Status"] span').first().getAttribute('title'), /^Expires /);
    assert.ok(!(await page.content()).includes(secret), 'the secret is gone once the dialog closes');

    // Revoke: cancel first, then confirm.
    await row.getByRole('button', { name: 'Revoke browser-test-key' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke “browser-test-key”?' });
    await confirm.waitFor();
    await screenshot(page, 'key-revoke-dialog');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await apiJson(page, `/api/api-keys/${created.id}`)).status, 'active', 'cancel keeps the key');
    await row.getByRole('button', { name: 'Revoke browser-test-key' }).click();
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await page.locator(`tr[data-key-id="${created.id}"][data-status="revoked"]`).waitFor();
    assert.equal((await apiJson(page, `/api/api-keys/${created.id}`)).status, 'revoked');
  });

  test('View Statistics opens the key\'s cards and charts, scoped by apiKeyId', async () => {
    const page = await as('owner');
    const { acme } = await orgs(page);
    const { from, to } = pastRange();
    await goto(page, `/keys?org=${acme.id}&scope=all&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    const keys = await apiJson(page, `/api/organizations/${acme.id}/api-keys`);
    const key = keys.find((k) => k.name === 'support-prod');
    const requested = [];
    const record = (r) => {
      if (r.url().includes('/api/analytics/')) requested.push(new URL(r.url()));
    };
    page.on('request', record);
    await page.locator(`tr[data-key-id="${key.id}"]`).getByRole('link', { name: 'View statistics of support-prod' }).click();
    await page.waitForURL(new RegExp(`/keys/${key.id}\\?`));
    await settled(page);
    assert.equal(query(page).from, from, 'the range follows to the key page');
    const api = await apiJson(page, `/api/analytics/keys/${key.id}?${rangeOf(page)}`);
    assert.ok(api.summary.requests > 0);
    await assertStatsEqual(page, api.summary, 'key statistics');
    assert.match(await page.getByRole('heading', { level: 1 }).textContent(), /support-prod/);
    const charts = requested.filter((u) => u.pathname.startsWith('/api/analytics/models'));
    assert.equal(charts.length, 2, 'both charts load');
    for (const u of charts) {
      assert.equal(u.searchParams.get('apiKeyId'), key.id);
      assert.equal(u.searchParams.get('projectId'), null);
    }
    const models = await apiJson(page, `/api/analytics/models?apiKeyId=${key.id}&${rangeOf(page)}`);
    assertRanking(await chartOf(page, '[data-card="rank"]'), models.models, 'cost', 'key Cost by Model');
    const csvHref = await page.locator('[data-export="csv"]').getAttribute('href');
    assert.match(csvHref, new RegExp(`apiKeyId=${key.id}`));
    const csv = await page.request.get(csvHref);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-type'], /^text\/csv/);
    assert.match(await csv.text(), /^date,model,requests/);
    assert.equal(await page.locator('[data-card="over-time"] .chart[data-chart-ready]').count(), 1);
    await screenshot(page, 'key-statistics');
    page.off('request', record);
  });

  test('an owner sets a key\'s rate limits on its page; a bad one changes nothing', async () => {
    const page = await as('owner');
    const { acme } = await orgs(page);
    const key = (await apiJson(page, `/api/organizations/${acme.id}/api-keys`)).find((k) => k.name === 'support-prod');
    assert.equal(key.requestsPerMinute, null);
    await goto(page, `/keys/${key.id}?org=${acme.id}`);
    assert.equal(await page.locator('[data-limit="requests"]').textContent(), 'Unlimited');
    await page.getByRole('button', { name: 'Rate limits' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rate limits' });
    await dialog.waitFor();
    await dialog.getByLabel('Tokens per minute').fill('0');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await dialog.getByText(/whole number from 1/).waitFor();
    assert.equal((await apiJson(page, `/api/api-keys/${key.id}`)).tokensPerMinute, null, 'nothing saved');
    await dialog.getByLabel('Requests per minute').fill('1200');
    await dialog.getByLabel('Tokens per minute').fill('90000');
    await screenshot(page, 'key-rate-limits');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('[data-limit="tokens"]', { hasText: '90,000 / min' }).waitFor();
    assert.equal(await page.locator('[data-limit="requests"]').textContent(), '1,200 / min');
    const saved = await apiJson(page, `/api/api-keys/${key.id}`);
    assert.deepEqual([saved.requestsPerMinute, saved.tokensPerMinute], [1200, 90000]);

    // Emptied fields lift the limits again.
    await page.getByRole('button', { name: 'Rate limits' }).click();
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Requests per minute').inputValue(), '1200');
    await dialog.getByLabel('Requests per minute').fill('');
    await dialog.getByLabel('Tokens per minute').fill('');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('[data-limit="tokens"]', { hasText: 'Unlimited' }).waitFor();
    const lifted = await apiJson(page, `/api/api-keys/${key.id}`);
    assert.deepEqual([lifted.requestsPerMinute, lifted.tokensPerMinute], [null, null]);
  });

  test('a developer sees their key\'s limits but no button to change them', async () => {
    const page = await as('developer');
    const { acme } = await orgs(page);
    const [key] = await apiJson(page, `/api/organizations/${acme.id}/api-keys`);
    await goto(page, `/keys/${key.id}?org=${acme.id}`);
    assert.equal(await page.locator('[data-limit="requests"]').textContent(), 'Unlimited');
    assert.equal(await page.getByRole('button', { name: 'Rate limits' }).count(), 0);
  });
});

describe('budgets', () => {
  /** Polls `check` (an API read) until it holds; the dashboard is not involved. */
  async function until(what, check, timeout = 30_000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  test('an owner sets a key budget, spends it through the gateway and sees the key blocked', async () => {
    const page = await as('owner');
    const { acme } = await orgs(page);
    const projects = await apiJson(page, `/api/organizations/${acme.id}/projects`);
    const made = await page.request.post(`/api/projects/${projects[0].id}/api-keys`, { data: { name: 'budget-capped' } });
    assert.equal(made.status(), 201);
    const key = await made.json();

    await goto(page, `/budgets?org=${acme.id}`);
    await page.getByRole('button', { name: 'Create budget' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create a budget' });
    await dialog.waitFor();
    await dialog.getByLabel('Applies to').selectOption('apiKey');
    await dialog.getByLabel('Which one').selectOption(key.id);
    await dialog.getByLabel('Amount (USD)').fill('0');
    await dialog.getByRole('button', { name: 'Create budget' }).click();
    await dialog.getByText(/amount is more than 0/).waitFor();
    assert.deepEqual((await apiJson(page, `/api/organizations/${acme.id}/budgets`)).filter((b) => b.scope.id === key.id), [], 'nothing saved');
    await dialog.getByLabel('Amount (USD)').fill('0.000001');
    await dialog.getByLabel('Period').selectOption('day');
    await dialog.getByLabel('Time zone').fill('Asia/Kolkata');
    await dialog.getByRole('button', { name: 'Create budget' }).click();
    await dialog.waitFor({ state: 'detached' });
    const budget = (await apiJson(page, `/api/organizations/${acme.id}/budgets`)).find((b) => b.scope.id === key.id);
    assert.deepEqual([budget.amount, budget.period, budget.timezone, budget.action], ['0.000001000', 'day', 'Asia/Kolkata', 'block']);
    const row = page.locator(`tr[data-budget-id="${budget.id}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /budget-capped/);
    assert.match(await row.textContent(), /per day \(Asia\/Kolkata\)/);

    // One request spends it; the next is refused by the gateway.
    const send = () => fetch(`${server.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.keySecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal((await send()).status, 200);
    const refused = await send();
    assert.equal(refused.status, 429);
    const error = await refused.json();
    assert.equal(error.error.code, 'budget_exceeded');
    await until('the spend to be stored', async () => {
      const b = (await apiJson(page, `/api/organizations/${acme.id}/budgets/${budget.id}`));
      return b.current.status === 'blocked' ? b : null;
    });

    await goto(page, `/budgets?org=${acme.id}`);
    await row.locator('.badge', { hasText: 'Blocked' }).waitFor();
    assert.equal(await row.getAttribute('data-status'), 'blocked');
    await screenshot(page, 'budgets');

    await goto(page, `/keys/${key.id}?org=${acme.id}`);
    const banner = page.locator('[data-banner="blocked"]');
    await banner.waitFor();
    assert.match(await banner.textContent(), /This key is blocked\. The API key budget of \$0\.000001 per day \(Asia\/Kolkata\) is spent/);
    assert.equal(await page.locator('[data-budget="blocked"]').count(), 1);
    await screenshot(page, 'key-blocked');

    await goto(page, `/keys?org=${acme.id}&scope=all`);
    await page.locator(`tr[data-key-id="${key.id}"] [data-budget-status="blocked"]`).waitFor();
  });

  test('an owner adds a webhook (its secret shown once), sends a test and reads the attempt', async () => {
    const page = await as('owner');
    const { acme } = await orgs(page);
    await goto(page, `/budgets?org=${acme.id}`);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a webhook' });
    await dialog.getByLabel('URL').fill('http://127.0.0.1:9/hook');
    await dialog.getByRole('button', { name: 'Add webhook' }).click();
    const secret = await dialog.locator('#webhook-secret').inputValue();
    assert.match(secret, /^whsec_[0-9a-f]{64}$/);
    await dialog.getByRole('button', { name: 'Done' }).click();
    const [hook] = await apiJson(page, `/api/organizations/${acme.id}/webhooks`);
    assert.equal(hook.secret, undefined, 'the secret is not shown again');
    const row = page.locator(`tr[data-webhook-id="${hook.id}"]`);
    await row.getByRole('button', { name: 'Send test' }).click();
    await page.getByText('Test delivery sent').waitFor();
    await until('the first attempt', async () => {
      const [d] = await apiJson(page, `/api/organizations/${acme.id}/webhooks/${hook.id}/deliveries`);
      return d?.attemptLog.length ? d : null;
    });
    await row.getByRole('button', { name: 'Deliveries' }).click();
    const log = page.getByRole('dialog', { name: 'Deliveries' });
    const entry = log.locator('[data-table="deliveries"] tbody tr').first();
    await entry.waitFor();
    assert.match(await entry.textContent(), /Test/);
    assert.match(await entry.textContent(), /#1 .*no answer/);
    await screenshot(page, 'webhook-deliveries');
    await log.getByRole('button', { name: 'Close' }).last().click();
  });

  test('a developer sees the budgets of their keys and cannot change them', async () => {
    const page = await as('developer');
    const { acme } = await orgs(page);
    await goto(page, `/budgets?org=${acme.id}`);
    await page.locator('[data-card="budgets"] .card-slot :is(table, .state-empty)').first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create budget' }).count(), 0);
    assert.equal(await page.locator('[data-card="webhooks"]').count(), 0);
    const visible = await apiJson(page, `/api/organizations/${acme.id}/budgets`);
    assert.equal(await page.locator('[data-table="budgets"] tbody tr').count(), visible.length);
  });
});

describe('members', () => {
  test('owners see spend per member, with the former members row, and open a member', async () => {
    const page = await as('owner');
    const { acme } = await orgs(page);
    const { from, to } = pastRange();
    await goto(page, `/members?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    const api = await apiJson(page, `/api/analytics/members?organizationId=${acme.id}&${rangeOf(page)}`);
    const rows = page.locator('[data-table="members"] tbody tr');
    assert.equal(await rows.count(), api.members.length);
    for (const [i, m] of api.members.entries()) {
      const row = rows.nth(i);
      assert.match(await row.textContent(), new RegExp(m.name));
      assert.equal(await row.locator('[data-col="cost"]').getAttribute('data-exact'), m.usage.cost);
      assert.equal(await row.locator('[data-col="cost"]').textContent(), usd(m.usage.cost));
      assert.equal(await row.locator('[data-col="tokens"]').textContent(), compact(m.usage.tokens.total));
      assert.equal(await row.locator('[data-col="requests"]').textContent(), int(m.usage.requests));
      assert.equal(await row.locator('[data-col="keys"]').textContent(), int(m.apiKeyCount));
    }
    assert.ok(api.members.some((m) => m.former), 'the demo has a former member');
    assert.match(await page.locator('tr[data-user-id="former"]').textContent(), /Former members/);
    assert.equal(await page.locator('[data-table="members"] tfoot [data-col="cost"]').getAttribute('data-exact'), api.totals.cost);
    await screenshot(page, 'members');

    // A row opens the member (click on a number, not the name link).
    const dana = api.members.find((m) => m.email === 'dev@acme.test');
    await page.locator(`tr[data-user-id="${dana.userId}"] [data-col="requests"]`).click();
    await page.waitForURL(new RegExp(`/members/${dana.userId}\\?`));
    await settled(page);
    const detail = await apiJson(page, `/api/analytics/members/${dana.userId}?organizationId=${acme.id}&${rangeOf(page)}`);
    await assertStatsEqual(page, detail.summary, 'member detail');
    for (const k of ['model', 'provider', 'app']) {
      assert.equal((await page.locator(`[data-most-used="${k}"] .most-used-value`).textContent()).trim(), detail.mostUsed[k] ?? '—');
    }
    assert.equal(await page.locator('[data-table="providers"] tbody tr').count(), detail.topProviders.length);
    assert.equal(await page.locator('[data-table="apps"] tbody tr').count(), detail.topApps.length);
    const firstProvider = page.locator('[data-table="providers"] tbody tr').first();
    assert.match(await firstProvider.textContent(), new RegExp(detail.topProviders[0].provider));
    assert.equal(await firstProvider.locator('td[data-exact]').getAttribute('data-exact'), detail.topProviders[0].usage.cost);
    assertRanking(await chartOf(page, '[data-card="rank"]'), detail.costByModel, 'cost', 'member Cost by Model');
    assert.equal(await page.locator('.stat-value[title]').first().getAttribute('title'), usdExact(detail.summary.cost));
    await screenshot(page, 'member-detail');
  });

  test('admins see the members table too', async () => {
    const page = await as('admin');
    const { acme } = await orgs(page);
    await goto(page, `/members?org=${acme.id}`);
    assert.ok(await page.locator('[data-table="members"]').isVisible());
    await screenshot(page, 'members-admin');
  });

  test('a developer gets the access notice, decided by the API\'s 403 forbidden', async () => {
    const page = await as('developer');
    const { acme } = await orgs(page);
    const api = await apiGet(page, `/api/analytics/members?organizationId=${acme.id}&${rangeOf(page)}`);
    assert.equal(api.status, 403);
    assert.equal(api.body.error.code, 'forbidden');
    await goto(page, `/members?org=${acme.id}`);
    assert.ok(await page.locator('[data-gate="forbidden"]').isVisible());
    assert.equal(await page.locator('[data-gate="upgrade"]').count(), 0);
    await screenshot(page, 'members-developer');

    // The developer's key list holds their own keys only.
    await goto(page, `/keys?org=${acme.id}&scope=all`);
    const mine = await apiJson(page, `/api/organizations/${acme.id}/api-keys`);
    assert.ok(mine.length > 0 && mine.every((k) => k.createdBy.email === ROLES.developer));
    assert.equal(await page.locator('[data-table="keys"] tbody tr').count(), mine.length);
    await screenshot(page, 'keys-developer');
  });

  test('the owner switching to the free organization sees the upgrade card (403 plan_upgrade_required)', async () => {
    const page = await as('owner');
    const { acme, hobby } = await orgs(page);
    await goto(page, `/members?org=${acme.id}`);
    await page.locator('#org-select').selectOption({ label: 'Hobby Lab' });
    await page.waitForURL(new RegExp(`org=${hobby.id}`));
    await settled(page);
    const api = await apiGet(page, `/api/analytics/members?organizationId=${hobby.id}&${rangeOf(page)}`);
    assert.equal(api.status, 403);
    assert.equal(api.body.error.code, 'plan_upgrade_required');
    assert.ok(await page.locator('[data-gate="upgrade"]').isVisible());
    assert.match(await page.locator('[data-gate="upgrade"]').textContent(), /Enterprise/);
    await screenshot(page, 'members-upgrade');
    await page.locator('#org-select').selectOption({ label: 'Acme Robotics' });
    await page.waitForURL(new RegExp(`org=${acme.id}`));
    await settled(page);
    assert.ok(await page.locator('[data-table="members"]').isVisible());
  });
});

describe('invitations', () => {
  /** Invites `email` through the members page's dialog; returns the link and the API's invitation. */
  async function inviteThroughDialog(page, acme, email) {
    await goto(page, `/members?org=${acme.id}`);
    await page.getByRole('button', { name: 'Invite member' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite a member' });
    await dialog.waitFor();
    await dialog.getByLabel('E-mail').fill(email);
    await dialog.getByLabel('Role').selectOption('developer');
    await dialog.getByRole('button', { name: 'Create invitation' }).click();
    const input = dialog.getByLabel('Invitation link');
    await input.waitFor();
    const link = await input.inputValue();
    return { dialog, link };
  }

  async function freshPage() {
    const context = await browser.newContext({ baseURL: server.baseUrl, viewport: { width: 1280, height: 900 }, timezoneId: TZ, locale: 'en-US' });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    return { context, page, problems };
  }

  test('the owner invites, the invitee sets a password in a fresh browser and lands in the organization', async () => {
    const page = await as('owner');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl });
    const { acme } = await orgs(page);
    const email = 'new.hire@acme.test';
    const { dialog, link } = await inviteThroughDialog(page, acme, email);
    assert.match(link, new RegExp(`^${server.baseUrl}/invite#tli_[0-9A-Za-z]{43}$`));
    const token = link.split('#')[1];
    await screenshot(page, 'invitation-created');
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Copied', { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    await settled(page);

    // Pending: listed, not a member; the link is not on the page any more.
    const pending = (await apiJson(page, `/api/organizations/${acme.id}/invitations`)).find((i) => i.email === email);
    assert.equal(pending.status, 'pending');
    const row = page.locator(`tr[data-invitation-id="${pending.id}"]`);
    assert.equal(await row.getAttribute('data-status'), 'pending');
    assert.match(await row.textContent(), /new\.hire@acme\.test/);
    assert.equal(await page.locator('[data-table="members"]').getByText(email).count(), 0);
    assert.ok(!(await page.content()).includes(token), 'the link is shown once');
    await screenshot(page, 'invitations-pending');

    // The invitee opens the link in a browser of their own.
    const invitee = await freshPage();
    const seen = [];
    invitee.page.on('request', (r) => seen.push(r.url()));
    await invitee.page.goto(link);
    await settled(invitee.page);
    assert.equal(await invitee.page.getByRole('heading', { level: 1 }).textContent(), 'Join Acme Robotics');
    assert.equal(await invitee.page.getByLabel('E-mail').inputValue(), email);
    await invitee.page.getByLabel('Name').fill('New Hire');
    await invitee.page.getByLabel('Password').fill('a password of my own');
    await screenshot(invitee.page, 'invitation-accept');
    await invitee.page.getByRole('button', { name: 'Create account and join' }).click();
    await invitee.page.waitForURL(new RegExp(`/analytics\\?.*org=${acme.id}`));
    await settled(invitee.page);
    const me = await apiJson(invitee.page, '/api/me');
    assert.equal(me.user.email, email);
    assert.deepEqual(me.organizations.map((o) => [o.id, o.role]), [[acme.id, 'developer']]);
    assert.ok(seen.every((u) => !new URL(u).search.includes(token) && !new URL(u).pathname.includes(token)), 'the token is never in a requested path or query');
    // The link works once.
    await invitee.page.goto(link);
    await settled(invitee.page);
    assert.match(await invitee.page.locator('[data-invite="dead"]').textContent(), /already been used/);
    assert.deepEqual(invitee.problems, []);
    await invitee.context.close();

    // The owner sees a member where the invitation was.
    await goto(page, `/members?org=${acme.id}`);
    assert.equal(await page.locator(`tr[data-invitation-id="${pending.id}"]`).count(), 0);
    assert.equal(await page.locator('[data-table="members"]').getByText(email).count(), 1);
    await screenshot(page, 'invitation-accepted');
  });

  test('revoking an invitation asks first, and its link then says it was revoked', async () => {
    const page = await as('admin');
    const { acme } = await orgs(page);
    const email = 'not.coming@acme.test';
    const { dialog, link } = await inviteThroughDialog(page, acme, email);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    await settled(page);
    const invitation = (await apiJson(page, `/api/organizations/${acme.id}/invitations`)).find((i) => i.email === email);
    const revoke = page.getByRole('button', { name: `Revoke the invitation of ${email}` });
    await revoke.click();
    const confirm = page.getByRole('dialog', { name: `Revoke the invitation of ${email}?` });
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.ok((await apiJson(page, `/api/organizations/${acme.id}/invitations`)).some((i) => i.id === invitation.id), 'cancel keeps it');
    await revoke.click();
    await confirm.getByRole('button', { name: 'Revoke invitation' }).click();
    await page.locator(`tr[data-invitation-id="${invitation.id}"]`).waitFor({ state: 'detached' });
    assert.ok(!(await apiJson(page, `/api/organizations/${acme.id}/invitations`)).some((i) => i.id === invitation.id));

    const invitee = await freshPage();
    await invitee.page.goto(link);
    await settled(invitee.page);
    assert.match(await invitee.page.locator('[data-invite="dead"]').textContent(), /revoked/);
    await invitee.context.close();
  });

  test('a developer sees no invitations card', async () => {
    const page = await as('developer');
    const { acme } = await orgs(page);
    await goto(page, `/members?org=${acme.id}`);
    assert.equal(await page.locator('[data-card="invitations"]').count(), 0);
  });
});

/** The request ids of the Requests table, in order. */
async function rowIds(page) {
  return page.locator('[data-table="requests"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.requestId));
}

describe('requests', () => {
  test('a bar of Cost by Model opens its requests, a row opens one request, and more pages load', async () => {
    const page = await as('owner');
    const { from, to } = pastRange();
    const { acme } = await orgs(page);
    await goto(page, `/analytics?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    await page.waitForSelector('[data-card="rank"] .chart[data-chart-ready]');
    const project = query(page).project;
    const chart = await chartOf(page, '[data-card="rank"]');
    const model = chart.categories[0];
    // Click the middle of the first bar.
    const at = await page.$eval('[data-card="rank"] .chart', (el, v) => window.echarts.getInstanceByDom(el).convertToPixel({ seriesIndex: 0 }, [v / 2, 0]), chart.series[0].values[0]);
    const box = await page.locator('[data-card="rank"] .chart').boundingBox();
    await page.mouse.click(box.x + at[0], box.y + at[1]);
    await page.waitForURL(/\/requests\?/);
    await settled(page);
    assert.equal(query(page).routedModel, model);
    assert.equal(query(page).from, from, 'the range follows');
    assert.match(await page.locator('[data-filter="routedModel"]').textContent(), new RegExp(`Model: ${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const api = await apiJson(page, `/api/activity?projectId=${project}&${rangeOf(page)}&routedModel=${encodeURIComponent(model)}`);
    assert.ok(api.data.length > 0);
    assert.ok(api.data.every((e) => e.routedModel === model));
    assert.deepEqual(await rowIds(page), api.data.map((e) => e.id), 'the first page, newest first');
    const first = page.locator('[data-table="requests"] tbody tr').first();
    assert.equal(await first.locator('td[data-label="Cost"]').getAttribute('title'), usdExact(api.data[0].cost));
    await screenshot(page, 'requests');

    if (api.nextCursor) {
      await page.locator('[data-action="more"]').click();
      await page.waitForFunction(() => document.querySelectorAll('[data-table="requests"] tbody tr').length > 50);
      const next = await apiJson(page, `/api/activity?projectId=${project}&${rangeOf(page)}&routedModel=${encodeURIComponent(model)}&cursor=${api.nextCursor}`);
      assert.deepEqual((await rowIds(page)).slice(50), next.data.map((e) => e.id), 'the second page follows the first');
    }

    // One request in full, in a drawer; its id is in the URL.
    await first.getByRole('button').click();
    const id = api.data[0].id;
    await page.waitForURL(new RegExp(`request=${id}`));
    const drawer = page.locator(`dialog [data-detail="${id}"]`);
    await drawer.locator('[data-field="requestId"]').waitFor();
    assert.equal(await drawer.locator('[data-field="requestId"]').textContent(), id);
    const detail = await apiJson(page, `/api/activity/${id}?timezone=${encodeURIComponent(TZ)}`);
    assert.equal(await drawer.locator('[data-field="cost"]').textContent(), usdExact(detail.cost));
    assert.match(await drawer.textContent(), new RegExp(detail.key.name));
    assert.ok(!(await page.locator('dialog').textContent()).includes('null'), 'no stray text in the drawer');
    assert.equal(detail.bodies, null, 'the demo captures no bodies');
    assert.equal(await drawer.locator('[data-bodies="none"]').textContent(), 'Body capture is off for this project.');
    await screenshot(page, 'request-detail', { fullPage: false });
    await page.keyboard.press('Escape');
    await page.waitForURL((u) => !u.searchParams.has('request'));

    // A chip's × removes its filter.
    await page.locator('[data-filter="routedModel"] button').click();
    await page.waitForURL((u) => !u.searchParams.has('routedModel'));
    await settled(page);
    const all = await apiJson(page, `/api/activity?projectId=${project}&${rangeOf(page)}`);
    assert.deepEqual(await rowIds(page), all.data.map((e) => e.id));
  });

  test('the error rate card and a point over time open their requests; a link reproduces the view', async () => {
    const page = await as('owner');
    const { from, to } = pastRange();
    const { acme } = await orgs(page);
    await goto(page, `/analytics?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    const project = query(page).project;
    await page.locator('[data-link="errors"]').click();
    await page.waitForURL(/outcome=upstream_error%2Cgateway_error|outcome=upstream_error,gateway_error/);
    await settled(page);
    const outcomes = await page.locator('[data-table="requests"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.outcome));
    assert.ok(outcomes.length > 0, 'the demo has failed requests');
    assert.ok(outcomes.every((o) => o === 'upstream_error' || o === 'gateway_error'), outcomes.join());
    const api = await apiJson(page, `/api/activity?projectId=${project}&${rangeOf(page)}&outcome=upstream_error,gateway_error`);
    assert.deepEqual(await rowIds(page), api.data.map((e) => e.id));
    const twin = await page.context().newPage();
    await goto(twin, page.url());
    assert.deepEqual(await rowIds(twin), await rowIds(page), 'the shared link shows the same requests');
    await twin.close();

    // A point of Cost by Model Over Time: that day's requests of that model.
    await goto(page, `/analytics?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    await page.waitForSelector('[data-card="over-time"] .chart[data-chart-ready]');
    const area = page.locator('[data-card="over-time"] .chart');
    await area.scrollIntoViewIfNeeded();
    const grid = await page.$eval('[data-card="over-time"] .chart', (el) => {
      const c = window.echarts.getInstanceByDom(el);
      const o = c.getOption();
      const i = Math.floor(o.xAxis[0].data.length / 2);
      return c.convertToPixel('grid', [i, 0]);
    });
    const box = await area.boundingBox();
    await page.mouse.click(box.x + grid[0], box.y + grid[1] - 3);
    await page.waitForURL(/\/requests\?/);
    await settled(page);
    const q = query(page);
    assert.equal(q.from, q.to, 'one day');
    assert.ok(q.routedModel, 'one model');
    const day = await apiJson(page, `/api/activity?projectId=${project}&${rangeOf(page)}&routedModel=${encodeURIComponent(q.routedModel)}`);
    assert.deepEqual(await rowIds(page), day.data.map((e) => e.id));
  });
});

describe('breakdowns and performance', () => {
  test('a bar of Cost by Tag opens the requests tagged so; end users are ranked as the API says', async () => {
    const page = await as('owner');
    const { from, to } = pastRange();
    const { acme } = await orgs(page);
    await goto(page, `/analytics?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    const project = query(page).project;
    await page.waitForSelector('[data-card="tags"] .chart[data-chart-ready]');
    await page.waitForSelector('[data-card="end-users"] .chart[data-chart-ready]');
    const users = await apiJson(page, `/api/analytics/end-users?projectId=${project}&${rangeOf(page)}`);
    const userChart = await chartOf(page, '[data-card="end-users"]');
    const topUser = users.endUsers[0];
    assert.equal(userChart.categories[0], topUser.value ?? '(no end user)');
    const tags = await apiJson(page, `/api/analytics/tags?projectId=${project}&${rangeOf(page)}`);
    assert.ok(tags.keys.length >= 2, 'the demo tags by team and feature');
    assert.equal(await page.locator('[data-select="tag-key"]').inputValue(), tags.key);
    const chart = await chartOf(page, '[data-card="tags"]');
    const top = tags.values[0];
    assert.equal(chart.categories[0], top.value ?? `(no ${tags.key})`);
    assert.equal(chart.series[0].values[0], Number(top.usage.cost));
    // Another key redraws the card with its values.
    const other = tags.keys.find((k) => k.key !== tags.key).key;
    await page.locator('[data-select="tag-key"]').selectOption(other);
    await page.waitForURL((u) => u.searchParams.get('tagKey') === other);
    await page.waitForSelector('[data-card="tags"] .chart[data-chart-ready]');
    const byOther = await apiJson(page, `/api/analytics/tags?projectId=${project}&${rangeOf(page)}&key=${other}`);
    const redrawn = await chartOf(page, '[data-card="tags"]');
    const tagged = byOther.values.find((v) => v.value !== null);
    const at = redrawn.categories.indexOf(tagged.value);
    assert.ok(at >= 0, `${tagged.value} is drawn`);
    await screenshot(page, 'analytics-breakdowns');
    const card = page.locator('[data-card="tags"] .chart');
    await card.scrollIntoViewIfNeeded();
    const point = await page.$eval('[data-card="tags"] .chart', (el, [i, v]) => window.echarts.getInstanceByDom(el).convertToPixel({ seriesIndex: 0 }, [v / 2, i]), [at, redrawn.series[0].values[at]]);
    const box = await card.boundingBox();
    await page.mouse.click(box.x + point[0], box.y + point[1]);
    await page.waitForURL(/\/requests\?/);
    await settled(page);
    assert.equal(query(page).tag, `${other}:${tagged.value}`);
    const api = await apiJson(page, `/api/activity?projectId=${project}&${rangeOf(page)}&tag=${encodeURIComponent(`${other}:${tagged.value}`)}`);
    assert.ok(api.data.length > 0);
    assert.ok(api.data.every((e) => e.tags[other] === tagged.value));
    assert.deepEqual(await rowIds(page), api.data.map((e) => e.id));
  });

  test('the Performance page shows the API\'s percentiles and a model opens its slowest requests', async () => {
    const page = await as('owner');
    const { from, to } = pastRange();
    const { acme } = await orgs(page);
    await goto(page, `/performance?org=${acme.id}&from=${from}&to=${to}&tz=${encodeURIComponent(TZ)}`);
    const project = query(page).project;
    const perf = await apiJson(page, `/api/analytics/performance?projectId=${project}&${rangeOf(page)}&interval=day`);
    assert.ok(perf.overall.requests > 0);
    const shown = (v) => (v >= 100 ? `${Math.round(v).toLocaleString('en-US')} ms` : `${v.toFixed(1)} ms`);
    assert.equal(await page.locator('[data-stat="p95"] .stat-value').textContent(), shown(perf.overall.latencyMs.p95));
    const rows = page.locator('[data-table="latency-models"] tbody tr');
    assert.equal(await rows.count(), perf.models.length);
    const first = perf.models[0];
    const cells = await rows.first().locator('td').allTextContents();
    assert.deepEqual(cells.slice(1, 5), [first.requests.toLocaleString('en-US'), shown(first.latencyMs.p50), shown(first.latencyMs.p95), shown(first.latencyMs.p99)]);
    await page.waitForSelector('[data-card="statuses"] .chart[data-chart-ready]');
    const statuses = await chartOf(page, '[data-card="statuses"]');
    assert.deepEqual(statuses.series.map((s) => s.name), perf.statuses.map((c) => (c === 0 ? 'unknown' : String(c))));
    const total = statuses.series.reduce((a, s) => a + s.values.reduce((x, y) => x + y, 0), 0);
    assert.equal(total, perf.overall.requests, 'every request has a status');
    await screenshot(page, 'performance');
    await rows.first().locator('th a').click();
    await page.waitForURL(/\/requests\?/);
    await settled(page);
    assert.equal(query(page).sort, 'latency');
    assert.equal(query(page).model, first.model);
    const slow = await apiJson(page, `/api/activity?projectId=${project}&${rangeOf(page)}&model=${encodeURIComponent(first.model)}&provider=${encodeURIComponent(first.provider)}&sort=latency`);
    assert.deepEqual(await rowIds(page), slow.data.map((e) => e.id));
  });
});

describe('shell', () => {
  test('at phone width the sidebar collapses behind a menu button and nothing overflows', async () => {
    const { context, page } = await signIn(browser, server.baseUrl, ROLES.owner, { viewport: { width: 390, height: 844 } });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const sidebarRight = () => page.evaluate(() => document.getElementById('sidebar').getBoundingClientRect().right);
    assert.ok(await sidebarRight() <= 0, 'sidebar is off screen');
    assert.ok(!(await page.locator('#sidebar').isVisible()), 'and out of the tab order');
    assert.equal(await overflow(), 0, 'analytics fits the width');
    await screenshot(page, 'analytics-phone');
    const menu = page.getByRole('button', { name: 'Open navigation' });
    await menu.click();
    await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().x === 0);
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Analytics', 'focus moves into the menu');
    await screenshot(page, 'menu-phone', { fullPage: false });
    await page.locator('#sidebar').getByRole('link', { name: 'API Keys' }).click();
    await page.waitForURL(/\/keys\?/);
    await settled(page);
    assert.equal(await page.getByRole('button', { name: 'Open navigation' }).getAttribute('aria-expanded'), 'false');
    await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().right <= 0);
    assert.equal(await overflow(), 0, 'keys fit the width');
    await screenshot(page, 'keys-phone');
    await page.goto(page.url().replace('/keys?', '/members?'));
    await settled(page);
    assert.equal(await overflow(), 0, 'members fit the width');
    await screenshot(page, 'members-phone');
    await context.close();
  });

  test('keyboard: skip link, labelled controls, the picker opens and closes with focus kept', async () => {
    const page = await as('admin');
    const { acme } = await orgs(page);
    await goto(page, `/analytics?org=${acme.id}`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    assert.ok(await page.getByRole('combobox', { name: 'Organization' }).isVisible());
    assert.ok(await page.getByRole('combobox', { name: 'Project' }).isVisible());
    assert.ok(await page.getByRole('combobox', { name: 'Time zone' }).isVisible());
    // Metric tabs of Cost by Model, Over Time, End User and Tag, each named.
    const tablists = await page.getByRole('tablist').evaluateAll((lists) => lists.map((l) => l.getAttribute('aria-label')));
    assert.deepEqual(tablists.sort(), ['Cost by End User: metric', 'Cost by Model Over Time: metric', 'Cost by Model: metric', 'Cost by Tag: metric']);
    await page.locator('.range-button').focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Date range' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.dataset.preset), '30d', 'focus moves to the selected preset');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Date range' }).waitFor({ state: 'hidden' });
    assert.ok(await page.evaluate(() => document.activeElement.classList.contains('range-button')), 'focus returns to the button');
  });

  test('unknown pages, the API\'s JSON 404 and the embedded assets', async () => {
    const page = await as('owner');
    await goto(page, '/no-such-page');
    assert.ok(await page.getByText('This page does not exist').isVisible());
    await screenshot(page, 'not-found');
    const api = await page.request.get('/api/no-such-endpoint', { headers: { accept: 'text/html' } });
    assert.equal(api.status(), 404);
    assert.equal((await api.json()).error.code, 'not_found');
    const index = await page.request.get('/', { headers: { accept: 'text/html' } });
    assert.equal(index.headers()['cache-control'], 'no-cache');
    assert.match(index.headers()['content-type'], /^text\/html/);
    const echarts = await page.request.get('/assets/vendor/echarts.min.js');
    assert.equal(echarts.status(), 200);
    assert.match(echarts.headers()['content-type'], /^text\/javascript/);
    const again = await page.request.get('/assets/vendor/echarts.min.js', { headers: { 'if-none-match': echarts.headers().etag } });
    assert.equal(again.status(), 304);
    assert.match((await page.request.get('/assets/app.css')).headers()['content-type'], /^text\/css/);
  });
});
