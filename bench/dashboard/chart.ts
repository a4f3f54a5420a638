import { formatValue, niceTicks } from './format.js';
import type { Panel } from './panels.js';

/** A panel's series as evaluated, legend already applied. */
export interface PanelSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** Where the plot sits in the SVG, and how times and values map onto it. */
interface Plot {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  x(timeS: number): number;
  y(value: number): number;
}

// Grafana's classic palette, as its dark theme shows it.
const palette = [
  ...['#73bf69', '#f2cc0c', '#5794f2', '#ff9830', '#f2495c', '#b877d9'],
  ...['#8ab8ff', '#fade2a', '#ca95e5', '#96d98d', '#ffb357', '#ff7383'],
];
const colorOf = (index: number) => palette[index % palette.length] as string;
const legendLinePx = 15;

export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"]/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char] as string,
  );

/** A time-series panel's body: y axis from 0, stacked when the panel stacks, a wrapped legend below. */
export function renderChart(
  panel: Panel,
  series: readonly PanelSeries[],
  range: { readonly startS: number; readonly endS: number },
  width: number,
  height: number,
): string {
  if (series.length === 0) return '<div class="stat" style="height:80%;color:#8e8e9e">No data</div>';
  // The legend takes what it needs, up to a third of the panel (the rest is cut, as Grafana scrolls it).
  const legendLines = Math.min(
    legendLineCount(series, width - 16),
    Math.floor((height * 0.35) / legendLinePx),
  );
  const svgHeight = height - legendLines * legendLinePx - 6;
  const plotted = panel.stacked ? stack(series) : series;
  const ticks = niceTicks(Math.max(0, ...plotted.flatMap((s) => s.points.map(([, v]) => v))));
  const labels = ticks.map((tick) => formatValue(tick, panel.unit, panel.decimals));
  const left = 10 + 6.2 * Math.max(...labels.map((label) => label.length));
  const top = ticks.at(-1) as number;
  const box = { left, top: 6, width: width - left - 12, height: svgHeight - 26 };
  const plot: Plot = {
    ...box,
    x: (t) => box.left + ((t - range.startS) / (range.endS - range.startS)) * box.width,
    y: (v) => box.top + box.height - (v / top) * box.height,
  };
  const shapes = plotted.map((s, i) => seriesShape(s, plotted[i - 1], panel, plot, colorOf(i)));
  const legend = series.map(
    (s, i) => `<span><i style="background:${colorOf(i)}"></i>${escapeHtml(s.name)}</span>`,
  );
  return (
    `<svg width="${width - 2}" height="${svgHeight}" font-size="11" fill="#8e8e9e">` +
    `${valueAxis(ticks, labels, plot)}${timeAxis(range, plot)}${shapes.join('')}</svg>` +
    `<div class="legend" style="max-height:${legendLines * legendLinePx}px;overflow:hidden">${legend.join('')}</div>`
  );
}

function valueAxis(ticks: readonly number[], labels: readonly string[], plot: Plot): string {
  return ticks
    .map((tick, i) => {
      const y = plot.y(tick);
      return (
        `<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y}" y2="${y}" stroke="#2c3235"/>` +
        `<text x="${plot.left - 6}" y="${y + 4}" text-anchor="end">${escapeHtml(labels[i] as string)}</text>`
      );
    })
    .join('');
}

/** Clock times (UTC) at round seconds, one label per 65 px at most (a label is about 50 px wide). */
function timeAxis(range: { startS: number; endS: number }, plot: Plot): string {
  const most = Math.max(2, Math.floor(plot.width / 65));
  const stepS = [5, 10, 15, 20, 30, 60, 120, 300].find((s) => (range.endS - range.startS) / s <= most) ?? 600;
  const labels: string[] = [];
  for (let t = Math.ceil(range.startS / stepS) * stepS; t <= range.endS; t += stepS) {
    if (plot.x(t) < plot.left + 25) continue; // would run into the value axis' labels
    const clock = new Date(t * 1000).toISOString().slice(11, 19);
    labels.push(
      `<text x="${plot.x(t)}" y="${plot.top + plot.height + 16}" text-anchor="middle">${clock}</text>`,
    );
  }
  return labels.join('');
}

/** A series' line, and the area under it (down to the series below it when stacked) when the panel fills. */
function seriesShape(
  series: PanelSeries,
  below: PanelSeries | undefined,
  panel: Panel,
  plot: Plot,
  color: string,
): string {
  const pointsOf = (points: PanelSeries['points']) =>
    points.map(([t, v]) => `${plot.x(t).toFixed(1)},${plot.y(v).toFixed(1)}`).join(' ');
  const line = pointsOf(series.points);
  const stroke = `<polyline points="${line}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
  if (panel.fillOpacity === 0) return stroke;
  const first = series.points[0]?.[0] ?? 0;
  const last = series.points.at(-1)?.[0] ?? first;
  const base =
    panel.stacked && below
      ? pointsOf([...below.points].reverse())
      : `${plot.x(last)},${plot.y(0)} ${plot.x(first)},${plot.y(0)}`;
  return `<polygon points="${line} ${base}" fill="${color}" fill-opacity="${panel.fillOpacity}"/>${stroke}`;
}

/**
 * Each series drawn on top of the ones before it. Every series gets every time of any of them (a
 * missing point counts 0), so each area's lower edge is the upper edge of the one below.
 */
export function stack(series: readonly PanelSeries[]): PanelSeries[] {
  const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const totals = new Map<number, number>();
  return series.map((s) => {
    const values = new Map(s.points);
    return {
      name: s.name,
      points: times.map((t) => {
        const total = (totals.get(t) ?? 0) + (values.get(t) ?? 0);
        totals.set(t, total);
        return [t, total] as const;
      }),
    };
  });
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
