// Calendar days ("YYYY-MM-DD") in a time zone, and the date-range presets.

export const MAX_RANGE_DAYS = 366;
const YMD = /^\d{4}-\d{2}-\d{2}$/;

// Browsers name some zones by their old, CLDR-canonical names
// ("Asia/Calcutta"); people and the IANA database use the current ones.
const CURRENT_NAMES = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
};

/** The current IANA name of `tz`, when the browser knows it by that name too. */
export function currentName(tz) {
  const name = CURRENT_NAMES[tz];
  return name && isTimeZone(name) ? name : tz;
}

/** The browser's IANA time zone (UTC when it cannot tell). */
export function browserTimeZone() {
  try {
    return currentName(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  } catch {
    return 'UTC';
  }
}

/** Whether the browser knows `tz` as a time zone. */
export function isTimeZone(tz) {
  if (!tz || typeof tz !== 'string') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Every IANA zone the browser knows, with `extra` (the current one) kept. */
export function timeZones(extra) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  const all = new Set(['UTC', ...zones.map(currentName)]);
  if (extra) all.add(extra);
  return [...all].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}

const offsets = new Map();

/** "GMT+5:30" for a zone, now (cached: the list has some 400 zones). */
export function zoneOffset(tz) {
  if (!offsets.has(tz)) {
    let label = '';
    try {
      label = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'shortOffset' })
        .formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value || '';
    } catch {
      label = '';
    }
    offsets.set(tz, label === 'GMT' ? 'GMT+0' : label);
  }
  return offsets.get(tz);
}

/** Today's calendar day in `tz`. */
export function today(tz, now = new Date()) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(now);
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Whether `s` is a real calendar day "YYYY-MM-DD". */
export function isDay(s) {
  if (!YMD.test(s || '')) return false;
  const [y, m, d] = s.split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function toUtc(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

function fromUtc(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(ymd, n) {
  return fromUtc(toUtc(ymd) + n * 86_400_000);
}

/** Inclusive length of a range in days. */
export function rangeDays(from, to) {
  return Math.round((toUtc(to) - toUtc(from)) / 86_400_000) + 1;
}

function firstOfMonth(ymd) {
  return `${ymd.slice(0, 8)}01`;
}

/** The presets of the range picker, computed for `tz` now. */
export function presets(tz, now = new Date()) {
  const t = today(tz, now);
  const thisMonth = firstOfMonth(t);
  const lastMonthEnd = addDays(thisMonth, -1);
  return [
    { id: 'today', label: 'Today', from: t, to: t },
    { id: '7d', label: 'Last 7 days', from: addDays(t, -6), to: t },
    { id: '30d', label: 'Last 30 days', from: addDays(t, -29), to: t },
    { id: '90d', label: 'Last 90 days', from: addDays(t, -89), to: t },
    { id: 'month', label: 'This month', from: thisMonth, to: t },
    { id: 'last-month', label: 'Last month', from: firstOfMonth(lastMonthEnd), to: lastMonthEnd },
  ];
}

export const DEFAULT_PRESET = '30d';

/** The preset whose days are exactly `from`–`to` in `tz`, if any. */
export function matchPreset(from, to, tz, now = new Date()) {
  return presets(tz, now).find((p) => p.from === from && p.to === to) || null;
}

/** Why a custom range is not acceptable, or null. */
export function rangeProblem(from, to) {
  if (!isDay(from)) return 'Choose a start day.';
  if (!isDay(to)) return 'Choose an end day.';
  if (from > to) return 'The start day must not be after the end day.';
  if (rangeDays(from, to) > MAX_RANGE_DAYS) return `A range covers at most ${MAX_RANGE_DAYS} days.`;
  return null;
}
