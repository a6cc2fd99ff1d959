// What the browser tests share: signing in, reading the API with the page's
// own cookies, waiting for a page to settle, screenshots, and an
// independent implementation of the dashboard's number formats.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './server.js';

export const PASSWORD = 'tally-demo';
export const ROLES = {
  owner: 'owner@acme.test',
  admin: 'admin@acme.test',
  developer: 'dev@acme.test',
};
export const SCREENSHOTS = path.join(REPO, 'test-output', 'screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

/** A fresh browser context signed in as `email` through the login form. */
export async function signIn(browser, baseUrl, email, { viewport = { width: 1280, height: 900 }, timezoneId = 'Europe/Berlin' } = {}) {
  const context = await browser.newContext({ viewport, timezoneId, locale: 'en-US', baseURL: baseUrl });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Failed requests are logged by the browser too; the tests check those
    // answers themselves (403 gates, a forced 500, the login page's 401).
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.problems = problems;
  await page.goto('/login');
  await settled(page);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/analytics\?/);
  await settled(page);
  return { context, page };
}

/** Waits until the app has rendered the current URL with its data. */
export async function settled(page, timeout = 30_000) {
  await page.waitForFunction(() => document.body.dataset.view === 'ready'
    && !document.querySelector('.state-loading, .stat-loading')
    && [...document.querySelectorAll('.chart')].every((c) => c.dataset.chartReady === 'true'), null, { timeout });
}

/** GET an API path with the page's cookies; returns {status, body}. */
export async function apiGet(page, pathAndQuery) {
  const response = await page.request.get(pathAndQuery, { headers: { accept: 'application/json' } });
  return { status: response.status(), body: await response.json() };
}

export async function apiJson(page, pathAndQuery) {
  const { status, body } = await apiGet(page, pathAndQuery);
  assert.equal(status, 200, `${pathAndQuery}: ${JSON.stringify(body)}`);
  return body;
}

export function query(page) {
  return Object.fromEntries(new URL(page.url()).searchParams);
}

/** The analytics parameters of the view in the page's URL. */
export function rangeOf(page) {
  const q = query(page);
  return `from=${q.from}&to=${q.to}&timezone=${encodeURIComponent(q.tz)}`;
}

export async function screenshot(page, name, { fullPage = true } = {}) {
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** The summary cards as {cost, requests, tokens, 'error-rate'}: {text, exact}. */
export async function stats(page) {
  return page.$$eval('[data-stats="summary"] [data-stat]', (cards) => Object.fromEntries(cards.map((c) => {
    const v = c.querySelector('.stat-value');
    return [c.dataset.stat, { text: v.textContent.trim(), exact: v.dataset.exact }];
  })));
}

/** Checks the summary cards against a Usage object of the API. */
export async function assertStatsEqual(page, usage, what) {
  const s = await stats(page);
  assert.equal(s.cost.exact, usage.cost, `${what}: cost card holds the API's exact cost`);
  assert.equal(s.cost.text, usd(usage.cost), `${what}: cost card text`);
  assert.equal(s.requests.text, int(usage.requests), `${what}: requests card`);
  assert.equal(s.tokens.exact, String(usage.tokens.total), `${what}: tokens card holds the exact total`);
  assert.equal(s.tokens.text, compact(usage.tokens.total), `${what}: tokens card text`);
  assert.equal(s['error-rate'].text, percent(usage.errorRate), `${what}: error rate card`);
}

// ---- expected formats, written independently of the dashboard's code ----

function nanos(money) {
  const m = /^(\d+)\.(\d{9})$/.exec(money);
  assert.ok(m, `money "${money}" has nine decimals`);
  return BigInt(m[1]) * 1_000_000_000n + BigInt(m[2]);
}

const group = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** "$1,234.57" from $1 up, up to four decimals below, "<$0.0001" for dust. */
export function usd(money) {
  const n = nanos(money);
  if (n === 0n) return '$0.00';
  if (n < 100_000n) return '<$0.0001';
  const places = n >= 1_000_000_000n ? 2 : 4;
  const unit = 10n ** BigInt(9 - places);
  const rounded = ((n + unit / 2n) / unit);
  const s = rounded.toString().padStart(places + 1, '0');
  let frac = s.slice(-places);
  if (places === 4) frac = frac.replace(/0{1,2}$/, '');
  return `$${group(s.slice(0, -places))}.${frac}`;
}

/** Exact money: every significant decimal, at least two. */
export function usdExact(money) {
  const [int, frac] = money.split('.');
  return `$${group(String(BigInt(int)))}.${frac.replace(/0+$/, '').padEnd(2, '0')}`;
}

export const int = (n) => group(String(n));
export const compact = (n) => new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(n);
export const percent = (r) => new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 2 }).format(r);

// ---- calendar days in a time zone ----

export function todayIn(tz, now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

export function addDays(ymd, n) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The chart of a card: its categories and its series' names and values. */
export async function chartOf(page, cardSelector) {
  return page.$eval(`${cardSelector} .chart`, (el) => {
    const o = window.echarts.getInstanceByDom(el).getOption();
    const categoryAxis = o.yAxis[0].type === 'category' ? o.yAxis[0] : o.xAxis[0];
    return {
      categories: categoryAxis.data,
      series: o.series.map((s) => ({ name: s.name, values: s.data.map((d) => (typeof d === 'object' ? d.value : d)) })),
      metric: el.dataset.metric,
      view: el.dataset.view,
    };
  });
}
