import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FleetGauges } from '../../src/store/store.js';
import { type MetricsSources, ServerMetrics } from '../../src/telemetry/metrics.js';
import { promqlReferences } from './promql-references.js';

interface Target {
  readonly expr: string;
  readonly legendFormat?: string;
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly datasource?: { type: string; uid: string };
  readonly targets?: Target[];
}

const dashboard = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../docs/grafana/openassist-dashboard.json', import.meta.url)),
    'utf8',
  ),
) as {
  __inputs: { name: string; pluginId: string }[];
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; datasource: unknown; query: { query: string } }[] };
};
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's import placeholder, not a template
const datasource = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');

/** Labels Prometheus adds to every scraped series (the target's), and `up`, which it makes itself. */
const targetLabels = ['job', 'instance'];

/** The server's catalogue: its registry built as the server builds it, on either store. */
function catalogue(): Map<string, readonly string[]> {
  const names = new Map<string, readonly string[]>([['up', []]]);
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const metrics = new ServerMetrics(new Set(['InvokeCommand']));
    metrics.watch({
      dialect,
      connectedAgents: () => 0,
      fleet: async () => ({}) as FleetGauges,
      pool: () => undefined,
      walBytes: () => undefined,
    } satisfies MetricsSources);
    for (const metric of metrics.registry.getMetricsAsArray()) {
      const { name, labelNames = [] } = metric as unknown as { name: string; labelNames?: string[] };
      const type = String((metric as unknown as { type: unknown }).type);
      if (type === 'histogram') {
        names.set(`${name}_bucket`, [...labelNames, 'le']);
        names.set(`${name}_sum`, labelNames);
        names.set(`${name}_count`, labelNames);
      } else names.set(name, labelNames);
    }
  }
  return names;
}

const exported = catalogue();
const labelsOf = (metric: string): string[] => [...(exported.get(metric) ?? []), ...targetLabels];
const everyTarget = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, ...target })),
);

describe('the Grafana dashboard (docs/grafana/openassist-dashboard.json)', () => {
  it('imports with a DS_PROMETHEUS input that every panel and variable uses', () => {
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    ]);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual(datasource);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    for (const variable of dashboard.templating.list)
      expect(variable.datasource, variable.name).toEqual(datasource);
  });

  it('has unique panel ids and panels that do not overlap on the 24-column grid', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Set<string>();
    for (const { title, gridPos } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x += 1) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y += 1) {
          expect(taken.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          taken.add(`${x},${y}`);
        }
      }
    }
  });

  it('selects only metrics the server exports, with labels they carry', () => {
    const expressions = [
      ...everyTarget.map((target) => ({ where: target.panel, expr: target.expr })),
      ...dashboard.templating.list.map((variable) => ({
        where: `variable ${variable.name}`,
        expr: variable.query.query.replace(/^label_values\((.*), *\w+\)$/, '$1'),
      })),
    ];
    expect(expressions.length).toBeGreaterThan(30);
    for (const { where, expr } of expressions) {
      const { selectors, groupings } = promqlReferences(expr);
      expect(selectors.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const { metric, matcherLabels } of selectors) {
        expect(exported.has(metric), `${where}: ${metric} is not exported`).toBe(true);
        for (const label of matcherLabels) expect(labelsOf(metric), `${where}: ${metric}`).toContain(label);
      }
      for (const { labels, metrics } of groupings) {
        for (const metric of metrics) {
          for (const label of labels)
            expect(labelsOf(metric), `${where}: by (${label}) on ${metric}`).toContain(label);
        }
      }
    }
  });

  it('names in each legend only labels its query keeps', () => {
    for (const { panel, expr, legendFormat = '' } of everyTarget) {
      const { selectors, groupings } = promqlReferences(expr);
      const kept =
        groupings.length > 0
          ? groupings.flatMap((grouping) => grouping.labels)
          : selectors.flatMap((selector) => labelsOf(selector.metric));
      for (const [, label] of legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        expect(kept, `${panel}: legend {{${label}}} of ${expr}`).toContain(label);
      }
    }
  });

  it('covers every metric of the catalogue but the process defaults it does not need', () => {
    const used = new Set(
      everyTarget.flatMap((target) => promqlReferences(target.expr).selectors.map((s) => s.metric)),
    );
    const server = [...exported.keys()].filter((name) => name.startsWith('openassist_'));
    const histograms = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    const unused = server.filter(
      (name) => !used.has(name) && ![...used].some((u) => histograms(u) === histograms(name)),
    );
    expect(unused).toEqual([]);
  });
});

describe('promqlReferences', () => {
  it('reads selectors, matchers and groupings, skipping functions, strings and ranges', () => {
    const references = promqlReferences(
      'histogram_quantile(0.99, sum by (action, le) (rate(a_bucket{job=~"$job", code!="x{y}"}[$__rate_interval]))) / 60 * max(b)',
    );
    expect(references.selectors).toEqual([
      { metric: 'a_bucket', matcherLabels: ['job', 'code'] },
      { metric: 'b', matcherLabels: [] },
    ]);
    expect(references.groupings).toEqual([{ labels: ['action', 'le'], metrics: ['a_bucket'] }]);
  });
});
