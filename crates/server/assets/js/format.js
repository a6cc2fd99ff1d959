// Formatting of money, counts, tokens, rates and dates.
//
// Money arrives from the API as a decimal string of USD ("12.345678900").
// It is never turned into a float for display: it is parsed into BigInt
// nano-USD, summed and rounded as integers, and printed by string handling.
// (Charts may use Number for geometry only: see `moneyToNumber`.)

const NANOS_PER_USD = 1_000_000_000n;
const LOCALE = 'en-US';

/** "12.3456789" → 12345678900n (nano-USD). Invalid input is 0n. */
export function moneyToNanos(value) {
  if (typeof value === 'bigint') return value;
  const m = /^(-)?(\d+)(?:\.(\d*))?$/.exec(String(value ?? '').trim());
  if (!m) return 0n;
  const frac = (m[3] || '').padEnd(9, '0').slice(0, 9);
  const nanos = BigInt(m[2]) * NANOS_PER_USD + BigInt(frac);
  return m[1] ? -nanos : nanos;
}

/** Exact sum of money strings (or BigInts) as nano-USD. */
export function sumMoney(values) {
  let total = 0n;
  for (const v of values) total += moneyToNanos(v);
  return total;
}

/** For chart geometry only (bar lengths, area heights). */
export function moneyToNumber(value) {
  return Number(moneyToNanos(value)) / 1e9;
}

/** "1234567" → "1,234,567" (digits only). */
function groupDigits(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Nano-USD rounded half away from zero to `decimals` places, as
 * [sign, integer digits, fraction digits].
 */
function roundNanos(nanos, decimals) {
  const negative = nanos < 0n;
  let abs = negative ? -nanos : nanos;
  const unit = 10n ** BigInt(9 - decimals);
  abs = ((abs + unit / 2n) / unit) * unit;
  const int = (abs / NANOS_PER_USD).toString();
  const frac = (abs % NANOS_PER_USD).toString().padStart(9, '0').slice(0, decimals);
  return [negative && abs !== 0n ? '-' : '', int, frac];
}

/**
 * Money for reading: two decimals from $1 up ("$1,234.57"), up to four
 * below a dollar so small spend stays visible ("$0.0042"), "<$0.0001" for
 * dust. Rounding is exact decimal rounding on integers.
 */
export function formatUsd(value) {
  const nanos = moneyToNanos(value);
  const abs = nanos < 0n ? -nanos : nanos;
  if (abs === 0n) return '$0.00';
  if (abs < 100_000n) return nanos < 0n ? '>-$0.0001' : '<$0.0001';
  const decimals = abs >= NANOS_PER_USD ? 2 : 4;
  const [sign, int, frac] = roundNanos(nanos, decimals);
  let f = frac;
  if (decimals === 4) f = f.replace(/0{1,2}$/, '');
  return `${sign}$${groupDigits(int)}.${f}`;
}

/** Money to the nano-dollar, trailing zeros dropped: "$1,234.5678901". */
export function formatUsdExact(value) {
  const nanos = moneyToNanos(value);
  const [sign, int, frac] = roundNanos(nanos, 9);
  const f = frac.replace(/0+$/, '').padEnd(2, '0');
  return `${sign}$${groupDigits(int)}.${f}`;
}

/** Axis labels: "$1.2K", "$0.05" (Number is fine: geometry, not a total). */
export function formatUsdAxis(n) {
  if (n === 0) return '$0';
  if (Math.abs(n) >= 1000) return '$' + compact.format(n);
  if (Math.abs(n) >= 1) return '$' + n.toFixed(n % 1 === 0 ? 0 : 2);
  return '$' + Number(n.toPrecision(2)).toString();
}

const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(LOCALE, { notation: 'compact', maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(LOCALE, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 2 });

/** 1234567 → "1,234,567". */
export function formatInt(n) {
  return integer.format(Number(n ?? 0));
}

/** Token counts, compact: 950, 1.2K, 3.4M, 5.6B. */
export function formatCompact(n) {
  return compact.format(Number(n ?? 0));
}

/** 0.0251 → "2.51%". */
export function formatPercent(rate) {
  return percent.format(Number(rate ?? 0));
}

/** The value of `metric` in a Usage object, formatted for reading. */
export function formatMetric(metric, usage) {
  if (metric === 'cost') return formatUsd(usage.cost);
  if (metric === 'requests') return formatInt(usage.requests);
  return formatCompact(usage.tokens?.total ?? 0);
}

/** The exact value of `metric` in a Usage object. */
export function formatMetricExact(metric, usage) {
  if (metric === 'cost') return formatUsdExact(usage.cost);
  if (metric === 'requests') return formatInt(usage.requests);
  return formatInt(usage.tokens?.total ?? 0);
}

/** Plural-aware count: plural(3, 'request') → "3 requests". */
export function plural(n, word, many = `${word}s`) {
  return `${formatInt(n)} ${Number(n) === 1 ? word : many}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2026-11-01" → "Nov 1" (or "Nov 1, 2026" with the year). */
export function formatDay(ymd, withYear = false) {
  const [y, m, d] = ymd.split('-').map(Number);
  return `${MONTHS[m - 1]} ${d}${withYear ? `, ${y}` : ''}`;
}

/** A range of days: "Oct 29 – Nov 27, 2026", "Nov 27, 2026". */
export function formatRange(from, to) {
  if (from === to) return formatDay(from, true);
  const sameYear = from.slice(0, 4) === to.slice(0, 4);
  return `${formatDay(from, !sameYear)} – ${formatDay(to, true)}`;
}

/**
 * A bucket label of the timeseries: days stay "Nov 1"; hours
 * ("2026-03-29T03:00:00+02:00") read as the local wall-clock time the API
 * already labelled them with.
 */
export function formatBucket(start, interval, oneDay = false) {
  if (interval === 'hour') {
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})/.exec(start);
    if (!m) return start;
    return oneDay ? `${m[2]}:${m[3]}` : `${formatDay(m[1])} ${m[2]}:${m[3]}`;
  }
  return formatDay(start);
}

/** An instant in a time zone: "Nov 27, 2026, 14:05". */
export function formatTimestamp(iso, timeZone) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(LOCALE, {
      timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).format(d);
  } catch {
    return d.toISOString();
  }
}

const relative = new Intl.RelativeTimeFormat(LOCALE, { numeric: 'auto' });

/** "3 hours ago", "yesterday", "just now". */
export function formatRelative(iso, now = Date.now()) {
  if (!iso) return 'Never';
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  const units = [['year', 31_536_000], ['month', 2_592_000], ['day', 86_400], ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of units) {
    if (abs >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds), 'second');
}

/** Escapes text for the few places that take HTML (chart tooltips). */
export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Initials for an avatar: "Dana Developer" → "DD". */
export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}
