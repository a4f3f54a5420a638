import { escapeHtml, type PanelSeries, renderChart } from './chart.js';
import { formatValue } from './format.js';
import type { Panel } from './panels.js';

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
const namedColors: Record<string, string> = {
  green: '#73bf69',
  red: '#f2495c',
  orange: '#ff9830',
  yellow: '#fade2a',
};

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
        : renderChart(panel, series, input, box.width, box.height - 28);
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
