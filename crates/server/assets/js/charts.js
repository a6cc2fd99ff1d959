// Charts, drawn by the vendored Apache ECharts (assets/vendor/). The
// library is loaded on first use, so the login page stays light.
//
// Colours are Paul Tol's "bright" scheme, built to stay distinct under
// the common colour-vision deficiencies; "Other" is its grey.

import { escapeHtml, formatUsdAxis, formatCompact } from './format.js';

export const PALETTE = ['#4477AA', '#EE6677', '#228833', '#CCBB44', '#66CCEE', '#AA3377'];
export const OTHER_COLOR = '#BBBBBB';
const BAR_COLOR = '#4477AA';
const TEXT = '#4b5563';
const MUTED = '#9ca3af';
const GRID = '#eef0f3';

let loading = null;

/** Loads echarts.min.js once (a classic script: it defines window.echarts). */
export function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/assets/vendor/echarts.min.js';
      script.async = true;
      script.onload = () => resolve(window.echarts);
      script.onerror = () => {
        loading = null;
        reject(new Error('The chart library could not be loaded.'));
      };
      document.head.append(script);
    });
  }
  return loading;
}

function fontFamily() {
  return getComputedStyle(document.body).fontFamily;
}

const releases = new WeakMap();

/** Disposes the charts inside `container` (before it is redrawn). */
export function releaseCharts(container) {
  for (const el of container.querySelectorAll('.chart')) releases.get(el)?.();
}

/** The chart on `el`, created on first use and disposed when `signal` aborts. */
async function chartOn(el, signal) {
  const echarts = await loadECharts();
  if (signal?.aborted || !el.isConnected) return null;
  let chart = echarts.getInstanceByDom(el);
  if (!chart) {
    chart = echarts.init(el, null, { renderer: 'svg' });
    const observer = new ResizeObserver(() => {
      if (!chart.isDisposed()) chart.resize();
    });
    observer.observe(el);
    const release = () => {
      observer.disconnect();
      if (!chart.isDisposed()) chart.dispose();
      releases.delete(el);
    };
    releases.set(el, release);
    signal?.addEventListener('abort', release, { once: true });
  }
  return chart;
}

function axisFormatter(metric) {
  if (metric === 'cost') return (v) => formatUsdAxis(v);
  return (v) => formatCompact(v);
}

const TOOLTIP_BASE = {
  confine: true,
  backgroundColor: '#111827',
  borderWidth: 0,
  padding: [10, 12],
  textStyle: { color: '#f9fafb', fontSize: 12 },
  extraCssText: 'border-radius:8px;box-shadow:0 8px 24px rgba(15,23,42,.25);',
};

/**
 * A horizontal bar chart ranking `rows` ({label, value (Number, for the
 * bar length), exact (text), short (bar label), share, note}).
 */
export async function barChart(el, rows, metric, { signal, ariaLabel, onPick } = {}) {
  const chart = await chartOn(el, signal);
  if (!chart) return;
  const narrow = el.clientWidth < 520;
  el.style.height = `${Math.max(120, rows.length * 34 + 24)}px`;
  chart.resize();
  chart.setOption({
    aria: { enabled: true, label: { description: ariaLabel } },
    textStyle: { fontFamily: fontFamily() },
    animationDuration: 350,
    grid: { left: 4, right: narrow ? 56 : 80, top: 4, bottom: 4, containLabel: true },
    xAxis: {
      type: 'value',
      axisLabel: { color: MUTED, formatter: axisFormatter(metric), fontSize: 11 },
      splitLine: { lineStyle: { color: GRID } },
      splitNumber: narrow ? 3 : 5,
    },
    yAxis: {
      type: 'category',
      inverse: true,
      data: rows.map((r) => r.label),
      axisTick: { show: false },
      axisLine: { show: false },
      axisLabel: { color: TEXT, fontSize: 12, width: narrow ? 110 : 220, overflow: 'truncate', margin: 12 },
    },
    tooltip: {
      ...TOOLTIP_BASE,
      trigger: 'item',
      formatter: (p) => {
        const r = rows[p.dataIndex];
        return `<div class="tt-title">${escapeHtml(r.label)}</div>`
          + `<div class="tt-row"><span>${escapeHtml(r.metricLabel)}</span><b>${escapeHtml(r.exact)}</b></div>`
          + (r.share ? `<div class="tt-row"><span>Share</span><b>${escapeHtml(r.share)}</b></div>` : '')
          + (r.note ? `<div class="tt-note">${escapeHtml(r.note)}</div>` : '');
      },
    },
    series: [{
      type: 'bar',
      name: metric,
      data: rows.map((r) => ({ value: r.value, itemStyle: { color: r.other ? OTHER_COLOR : BAR_COLOR } })),
      barMaxWidth: 20,
      barMinHeight: 2,
      itemStyle: { borderRadius: [0, 4, 4, 0] },
      emphasis: { itemStyle: { color: '#335f8a' } },
      label: {
        show: true,
        position: 'right',
        color: TEXT,
        fontSize: 11,
        formatter: (p) => rows[p.dataIndex].short,
      },
      cursor: onPick ? 'pointer' : 'default',
    }],
  }, { notMerge: true });
  chart.off('click');
  if (onPick) chart.on('click', (p) => onPick(rows[p.dataIndex]));
  el.dataset.chartReady = 'true';
}

/**
 * A stacked area chart: `labels` along x, `series` ({name, values (Number),
 * exact (text per bucket)}), `totals` (exact text per bucket).
 */
export async function stackedAreaChart(el, { labels, series, totals }, metric, { signal, ariaLabel, metricLabel, onPick } = {}) {
  const chart = await chartOn(el, signal);
  if (!chart) return;
  const narrow = el.clientWidth < 520;
  const colors = series.map((s, i) => (s.other ? OTHER_COLOR : PALETTE[i % PALETTE.length]));
  chart.setOption({
    aria: { enabled: true, label: { description: ariaLabel } },
    textStyle: { fontFamily: fontFamily() },
    color: colors,
    animationDuration: 350,
    grid: { left: 4, right: 12, top: 12, bottom: series.length > 1 ? (narrow ? 64 : 44) : 8, containLabel: true },
    legend: {
      show: series.length > 1,
      type: 'scroll',
      bottom: 0,
      left: 0,
      icon: 'roundRect',
      itemWidth: 10,
      itemHeight: 10,
      itemGap: 16,
      textStyle: { color: TEXT, fontSize: 12 },
      pageIconColor: TEXT,
      pageTextStyle: { color: TEXT },
    },
    xAxis: {
      type: 'category',
      boundaryGap: false,
      data: labels,
      axisLine: { lineStyle: { color: '#d1d5db' } },
      axisTick: { show: false },
      axisLabel: { color: MUTED, fontSize: 11, hideOverlap: true },
    },
    yAxis: {
      type: 'value',
      axisLabel: { color: MUTED, formatter: axisFormatter(metric), fontSize: 11 },
      splitLine: { lineStyle: { color: GRID } },
      splitNumber: 4,
    },
    tooltip: {
      ...TOOLTIP_BASE,
      trigger: 'axis',
      axisPointer: { type: 'line', lineStyle: { color: MUTED, type: 'dashed' } },
      formatter: (params) => {
        const i = params[0]?.dataIndex ?? 0;
        const shown = new Set(params.map((p) => p.seriesIndex));
        const rows = series
          .map((s, k) => ({ s, k }))
          .filter(({ k }) => shown.has(k))
          .filter(({ s }) => s.values[i] !== 0)
          .sort((a, b) => b.s.values[i] - a.s.values[i])
          .map(({ s, k }) => `<div class="tt-row"><span><i class="tt-dot" style="background:${colors[k]}"></i>${escapeHtml(s.name)}</span><b>${escapeHtml(s.exact[i])}</b></div>`)
          .join('');
        return `<div class="tt-title">${escapeHtml(labels[i])}</div>${rows || '<div class="tt-note">Nothing recorded</div>'}`
          + `<div class="tt-row tt-total"><span>Total ${escapeHtml(metricLabel || '')}</span><b>${escapeHtml(totals[i])}</b></div>`;
      },
    },
    series: series.map((s) => ({
      name: s.name,
      type: 'line',
      stack: 'total',
      data: s.values,
      symbol: 'none',
      smooth: false,
      lineStyle: { width: 1.2 },
      areaStyle: { opacity: 0.75 },
      emphasis: { focus: 'series' },
    })),
  }, { notMerge: true });
  // A click anywhere on the plot picks the bucket under the pointer and
  // the topmost series drawn there (the one clicked, on a stacked area).
  chart.getZr().off('click');
  if (onPick) {
    chart.getZr().on('click', (e) => {
      const point = [e.offsetX, e.offsetY];
      if (!chart.containPixel('grid', point)) return;
      const [i, y] = chart.convertFromPixel('grid', point);
      let sum = 0;
      let picked = null;
      series.forEach((s, k) => {
        sum += s.values[i] || 0;
        if (picked === null && y <= sum && s.values[i]) picked = k;
      });
      if (picked === null) picked = series.findIndex((s) => s.values[i]);
      if (picked >= 0) onPick({ index: i, series: series[picked] });
    });
  }
  el.dataset.chartReady = 'true';
}
