// Thin helpers around the Chart.js UMD build, which index.html loads as a
// classic script from /vendor/chart.js/ and which defines window.Chart.

import { OKABE_ITO } from './colors.js';

/** Returns the global Chart constructor, or throws if the vendor script did not load. */
export function chartClass() {
  if (typeof window.Chart !== 'function') {
    throw new Error('Chart.js did not load from /vendor/chart.js/chart.umd.min.js');
  }
  return window.Chart;
}

/**
 * Shaded x ranges behind the datasets: options.plugins.bands.items is a list
 * of {from, to, color, label}, in x-axis units.
 */
const bandsPlugin = {
  id: 'bands',
  beforeDatasetsDraw(chart, args, options) {
    const items = options?.items ?? [];
    if (items.length === 0) return;
    const { ctx, chartArea, scales } = chart;
    ctx.save();
    for (const band of items) {
      const x0 = Math.max(chartArea.left, scales.x.getPixelForValue(band.from));
      const x1 = Math.min(chartArea.right, scales.x.getPixelForValue(band.to));
      if (!(x1 > x0)) continue;
      ctx.fillStyle = band.color;
      ctx.fillRect(x0, chartArea.top, x1 - x0, chartArea.bottom - chartArea.top);
      if (band.label) {
        ctx.fillStyle = '#333';
        ctx.font = '11px system-ui, sans-serif';
        ctx.textAlign = 'center';
        ctx.fillText(band.label, (x0 + x1) / 2, chartArea.top + 12, Math.max(40, x1 - x0));
      }
    }
    ctx.restore();
  },
};

/** Sets page-wide Chart.js defaults once: no animation, readable fonts. */
export function configureCharts() {
  const Chart = chartClass();
  Chart.register(bandsPlugin);
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#333';
}

/** Options for an x/y chart with titled axes; `x` and `y` are Chart.js scale overrides. */
export function axesOptions({ title, xTitle, yTitle, x = {}, y = {}, legend = true }) {
  return {
    parsing: false,
    normalized: true,
    interaction: { mode: 'nearest', intersect: false },
    layout: { padding: { right: 16 } },
    plugins: {
      title: { display: Boolean(title), text: title, font: { size: 14, weight: '600' } },
      legend: { display: legend, labels: { boxWidth: 22, boxHeight: 3 } },
      decimation: { enabled: false },
    },
    scales: {
      x: { type: 'linear', title: { display: Boolean(xTitle), text: xTitle }, ...x },
      y: { type: 'linear', title: { display: Boolean(yTitle), text: yTitle }, ...y },
    },
  };
}

const SUPERSCRIPTS = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** Builds a logarithmic scale that labels only the powers of ten, as 10ⁿ. */
export function logScale(extra = {}) {
  return {
    type: 'logarithmic',
    ticks: {
      autoSkip: false,
      maxRotation: 0,
      callback: (value) => {
        const exponent = Math.log10(value);
        if (Math.abs(exponent - Math.round(exponent)) > 1e-9) return '';
        const n = Math.round(exponent);
        if (n >= 0 && n <= 3) return String(10 ** n);
        return `10${String(n).replace(/./g, (c) => SUPERSCRIPTS[c])}`;
      },
    },
    ...extra,
  };
}

/** Builds a dataset that draws {x, y} points as a line. */
export function lineDataset(label, points, color = OKABE_ITO.blue, extra = {}) {
  return {
    label,
    data: points,
    borderColor: color,
    backgroundColor: color,
    borderWidth: 2,
    pointRadius: 0,
    pointHoverRadius: 3,
    showLine: true,
    ...extra,
  };
}

/**
 * Creates the chart on first use, then replaces its data and options and
 * redraws without animation. Returns the chart.
 */
export function upsertChart(existing, canvas, config) {
  if (!existing) {
    const Chart = chartClass();
    return new Chart(canvas, config);
  }
  existing.data = config.data;
  existing.options = config.options;
  existing.update('none');
  return existing;
}

/** Maps an array of y values to {x: index, y} points. */
export function indexPoints(values) {
  return Array.from(values, (y, x) => ({ x, y }));
}

/**
 * Sizes a canvas for width x height CSS pixels at the device's pixel ratio
 * and returns its cleared 2D context, scaled so drawing uses CSS pixels.
 */
export function prepareCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return g;
}
