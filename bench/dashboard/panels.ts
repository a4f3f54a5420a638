import { readFile } from 'node:fs/promises';

/** What the renderer needs of a Grafana panel (the dashboard JSON holds much more). */
export interface Panel {
  readonly type: 'row' | 'timeseries' | 'stat';
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly unit: string;
  readonly stacked: boolean;
  /** 0 to 1: how opaque the area under each line is. */
  readonly fillOpacity: number;
  readonly decimals: number | undefined;
  /** A stat's colour steps: the last whose value the figure reaches (the first has none). */
  readonly thresholds: readonly { readonly color: string; readonly value: number | null }[];
  readonly targets: readonly { readonly expr: string; readonly legendFormat: string }[];
}

interface GrafanaPanel {
  type: string;
  title: string;
  gridPos: Panel['gridPos'];
  fieldConfig?: {
    defaults?: {
      unit?: string;
      decimals?: number;
      thresholds?: { steps?: Panel['thresholds'] };
      custom?: { fillOpacity?: number; stacking?: { mode?: string } };
    };
  };
  targets?: { expr: string; legendFormat?: string }[];
}

export async function readDashboard(path: string): Promise<{ title: string; panels: Panel[] }> {
  const dashboard = JSON.parse(await readFile(path, 'utf8')) as { title: string; panels: GrafanaPanel[] };
  const panels = dashboard.panels.map((panel): Panel => {
    const defaults = panel.fieldConfig?.defaults;
    return {
      type: panel.type === 'row' || panel.type === 'stat' ? panel.type : 'timeseries',
      title: panel.title,
      gridPos: panel.gridPos,
      unit: defaults?.unit ?? 'none',
      stacked: (defaults?.custom?.stacking?.mode ?? 'none') !== 'none',
      fillOpacity: (defaults?.custom?.fillOpacity ?? 0) / 100,
      decimals: defaults?.decimals,
      thresholds: defaults?.thresholds?.steps ?? [],
      targets: (panel.targets ?? []).map((target) => ({
        expr: target.expr,
        legendFormat: target.legendFormat ?? '',
      })),
    };
  });
  return { title: dashboard.title, panels };
}

/** What Grafana would put in place of its variables for this render. */
export interface Substitutions {
  /** Each template variable's value: "All" is the regex of every value, as Grafana writes it. */
  readonly variables: Readonly<Record<string, string>>;
  readonly rateIntervalS: number;
  readonly intervalS: number;
}

export function substitute(expr: string, values: Substitutions): string {
  return expr
    .replaceAll('$__rate_interval', `${values.rateIntervalS}s`)
    .replaceAll('$__interval', `${values.intervalS}s`)
    .replace(/\$\{?(\w+)\}?/g, (_, name: string) => {
      const value = values.variables[name];
      if (value === undefined) throw new Error(`no value for the variable $${name} in ${expr}`);
      return value;
    });
}

/** Grafana's regex of a multi-value variable: `(a|b)`, each value escaped. */
export const allOf = (values: readonly string[]): string =>
  `(${values.map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|')})`;

/** Grafana's legend: `{{label}}` replaced by the series' label value. */
export function legendOf(format: string, labels: Record<string, string>): string {
  if (format === '') return JSON.stringify(labels);
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? '').trim();
}
