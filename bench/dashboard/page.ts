import { formatValue, niceTicks } from './format.js';
import type { Panel } from './panels.js';

/** A panel's series as evaluated, legend already applied. */
export interface PanelSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface PageInput {
  readonly title: string;
  readonly caption: string;
  readonly startS: number;
  readonly endS: number;
  readonly panels: readonly { readonly panel: Panel; readonly series: readonly PanelSeries[] }[];
}

// Grafana's grid: 24 columns, rows of 30 px, 8 px between panels; its dark theme's colours.
export const pageWidthPx = 1440;
const rowPx = 30;
const gapPx = 8;
const columnPx = pageWidthPx / 24;
const palette = [
  '#73bf69',
  '#f2cc0c',
  '#5794f2',
  '#ff9830',
  '#f2495c',
  '#b877d9',
  '#8ab8ff',
  '#fade2a',
  '#ca95e5',
  '#96d98d',
  '#ffb357',
  '#ff7383',
];
const namedColors: Record<string, string> = {
  green: '#73bf69',
  red: '#f2495c',
  orange: '#ff9830',
  yellow: '#fade2a',
};
const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"]/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char] as string,
  );

/** The whole dashboard as one HTML page: panels placed by their gridPos, charts as inline SVG. */
export function renderPage(input: PageInput): string {
  const heightPx = Math.max(...input.panels.map(({ panel }) => (panel.gridPos.y + panel.gridPos.h) * rowPx));
  const boxes = input.panels.map(({ panel, series }) => {
    const { x, y, w, h } = panel.gridPos;
    const box = {
      left: x * columnPx,
      top: y * rowPx,
      width: w * columnPx - gapPx,
      height: h * rowPx - gapPx,
    };
    const style = `left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px`;
    if (panel.type === 'row') return `<div class="row" style="${style}">${escapeHtml(panel.title)}</div>`;
    const body =
      panel.type === 'stat'
        ? statBody(panel, series, box.width, box.height - 28)
        : chartBody(panel, series, input, box.width, box.height - 28);
    return `<div class="panel" style="${style}"><div class="title">${escapeHtml(panel.title)}</div>${body}</div>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#111217;color:#ccccdc;font:12px Inter,Helvetica,Arial,sans-serif}
header{padding:12px 16px 4px;display:flex;align-items:baseline;gap:16px}
header h1{font-size:18px;font-weight:500;margin:0;color:#fff}
header span{color:#8e8e9e}
.grid{position:relative;margin:8px;width:${pageWidthPx}px;height:${heightPx}px}
.row,.panel{position:absolute;box-sizing:border-box}
.row{font-size:15px;font-weight:500;color:#fff;padding-top:6px}
.panel{background:#181b1f;border:1px solid #2c3235;border-radius:2px;overflow:hidden}
.title{height:28px;line-height:28px;padding:0 8px;font-size:13px;font-weight:500;white-space:nowrap;overflow:hidden}
.legend{display:flex;flex-wrap:wrap;gap:0 12px;padding:0 8px;font-size:11px;line-height:15px}
.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.stat{display:flex;flex-direction:column;justify-content:center;align-items:center;color:#fff}
.stat b{font-size:34px;font-weight:500}
</style></head><body><header><h1>${escapeHtml(input.title)}</h1><span>${escapeHtml(input.caption)}</span></header>
<div class="grid">${boxes.join('\n')}</div></body></html>`;
}

function statBody(panel: Panel, series: readonly PanelSeries[], width: number, height: number): string {
  const value = series[0]?.points.at(-1)?.[1] ?? Number.NaN;
  let color = '#2c3235';
  for (const step of panel.thresholds) {
    if (step.value === null || value >= step.value) color = namedColors[step.color] ?? step.color;
  }
  const text = Number.isNaN(value) ? 'No data' : formatValue(value, panel.unit, panel.decimals ?? 0);
  return `<div class="stat" style="background:${color};width:${width - 2}px;height:${height - 2}px"><b>${text}</b></div>`;
}

/** A time-series chart: y axis from 0, stacked when the panel stacks, a wrapped legend below. */
function chartBody(
  panel: Panel,
  series: readonly PanelSeries[],
  range: { startS: number; endS: number },
  width: number,
  height: number,
): string {
  if (series.length === 0) return '<div class="stat" style="height:80%;color:#8e8e9e">No data</div>';
  const legendLines = legendLineCount(series, width - 16);
  const shownLines = Math.min(legendLines, Math.floor((height * 0.35) / 15));
  const chartHeight = height - shownLines * 15 - 6;
  const plotted = panel.stacked ? stack(series) : series;
  const max = Math.max(...plotted.flatMap((s) => s.points.map(([, v]) => v)), 0);
  const ticks = niceTicks(max);
  const top = ticks.at(-1) as number;
  const labels = ticks.map((tick) => formatValue(tick, panel.unit, panel.decimals));
  const left = 10 + 6.2 * Math.max(...labels.map((label) => label.length));
  const plot = { left, top: 6, width: width - left - 12, height: chartHeight - 26 };
  const xOf = (t: number) => plot.left + ((t - range.startS) / (range.endS - range.startS)) * plot.width;
  const yOf = (v: number) => plot.top + plot.height - (v / top) * plot.height;
  const grid = ticks.map(
    (tick, i) =>
      `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${yOf(tick)}" y2="${yOf(tick)}" stroke="#2c3235"/>` +
      `<text x="${plot.left - 6}" y="${yOf(tick) + 4}" text-anchor="end">${escapeHtml(labels[i] as string)}</text>`,
  );
  // A time label is about 50 px wide: one every 80 px at most.
  const maxTimeLabels = Math.max(2, Math.floor(plot.width / 80));
  const timeStepS =
    [5, 10, 15, 20, 30, 60, 120, 300].find((s) => (range.endS - range.startS) / s <= maxTimeLabels) ?? 600;
  for (let t = Math.ceil(range.startS / timeStepS) * timeStepS; t <= range.endS; t += timeStepS) {
    const clock = new Date(t * 1000).toISOString().slice(11, 19);
    grid.push(`<text x="${xOf(t)}" y="${plot.top + plot.height + 16}" text-anchor="middle">${clock}</text>`);
  }
  const shapes = plotted.map((s, i) => {
    const color = palette[i % palette.length] as string;
    if (panel.bars) {
      const barWidth = Math.max(2, plot.width / 60);
      return s.points
        .filter(([, v]) => v > 0)
        .map(
          ([t, v]) =>
            `<rect x="${xOf(t) - barWidth / 2}" y="${yOf(v)}" width="${barWidth}" height="${yOf(0) - yOf(v)}" fill="${color}"/>`,
        )
        .join('');
    }
    const line = s.points.map(([t, v]) => `${xOf(t).toFixed(1)},${yOf(v).toFixed(1)}`).join(' ');
    const below = panel.stacked ? (plotted[i - 1]?.points ?? []) : [];
    const base =
      below.length > 0
        ? [...below]
            .reverse()
            .map(([t, v]) => `${xOf(t).toFixed(1)},${yOf(v).toFixed(1)}`)
            .join(' ')
        : `${xOf(s.points.at(-1)?.[0] ?? 0)},${yOf(0)} ${xOf(s.points[0]?.[0] ?? 0)},${yOf(0)}`;
    const fill =
      panel.fillOpacity > 0
        ? `<polygon points="${line} ${base}" fill="${color}" fill-opacity="${panel.fillOpacity}"/>`
        : '';
    return `${fill}<polyline points="${line}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
  });
  const legend = series
    .map(
      (s, i) => `<span><i style="background:${palette[i % palette.length]}"></i>${escapeHtml(s.name)}</span>`,
    )
    .join('');
  return (
    `<svg width="${width - 2}" height="${chartHeight}" font-size="11" fill="#8e8e9e">${grid.join('')}${shapes.join('')}</svg>` +
    `<div class="legend" style="max-height:${shownLines * 15}px;overflow:hidden">${legend}</div>`
  );
}

/** Each series drawn on top of the ones before it (points matched by time). */
function stack(series: readonly PanelSeries[]): PanelSeries[] {
  const totals = new Map<number, number>();
  return series.map((s) => ({
    name: s.name,
    points: s.points.map(([t, v]) => {
      const total = (totals.get(t) ?? 0) + v;
      totals.set(t, total);
      return [t, total] as const;
    }),
  }));
}

/** How many lines the wrapped legend takes (about 6 px a character in 11 px text). */
function legendLineCount(series: readonly PanelSeries[], widthPx: number): number {
  let lines = 1;
  let used = 0;
  for (const { name } of series) {
    const itemPx = 16 + name.length * 6 + 12;
    if (used > 0 && used + itemPx > widthPx) {
      lines += 1;
      used = 0;
    }
    used += itemPx;
  }
  return lines;
}
