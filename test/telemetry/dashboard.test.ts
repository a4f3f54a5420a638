import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { EndedRun, FleetGauges } from '../../src/store/store.js';
import { type MetricsSources, ServerMetrics } from '../../src/telemetry/metrics.js';
import { parseExposition } from '../helpers/metrics-scrape.js';
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

const fleetFigures: FleetGauges = {
  online: 1,
  versions: [{ version: '0.5.0', count: 1 }],
  pendingTasks: 0,
  webhookBacklog: 0,
  outputUploadBacklog: 0,
  journalBytesSum: 10,
  journalBytesMax: 10,
  pendingEventsSum: 0,
  pendingEventsMax: 0,
  oldestHeartbeatAtMs: 1,
  resourceCapped: 0,
};

/** Labels Prometheus adds to every scraped series (the target's), and `up`, which it makes itself. */
const targetLabels = ['job', 'instance'];

/** The server's catalogue: its registry built as the server builds it, on either store, audit trail on. */
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
      auditBacklog: () => 0,
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

/** A scrape of a registry that has seen one of everything, so every label value it writes shows. */
async function populatedScrape() {
  const metrics = new ServerMetrics(new Set(['InvokeCommand']));
  metrics.watch({
    dialect: 'postgres',
    connectedAgents: () => 1,
    fleet: async () => fleetFigures,
    pool: () => ({ total: 2, idle: 1, waiting: 0 }),
    walBytes: () => undefined,
  });
  metrics.apiRequest('InvokeCommand', '', 0.01);
  metrics.apiRequest('InvokeCommand', 'InvalidCmdId.NotFound', 0.01);
  metrics.runEnded({ status: 'Success', startTimeMs: 1_000, finishTimeMs: 2_000 } as EndedRun);
  return parseExposition((await metrics.scrape()).text);
}
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
      for (const { metric, matchers } of selectors) {
        expect(exported.has(metric), `${where}: ${metric} is not exported`).toBe(true);
        for (const { label } of matchers) expect(labelsOf(metric), `${where}: ${metric}`).toContain(label);
      }
      for (const { labels, metrics } of groupings) {
        for (const metric of metrics) {
          for (const label of labels)
            expect(labelsOf(metric), `${where}: by (${label}) on ${metric}`).toContain(label);
        }
      }
    }
  });

  it('compares labels only with values the server writes', async () => {
    const scrape = await populatedScrape();
    for (const { panel, expr } of everyTarget) {
      for (const { metric, matchers } of promqlReferences(expr).selectors) {
        for (const { label, operator, value } of matchers) {
          if (targetLabels.includes(label) || (operator !== '=' && operator !== '!=')) continue;
          const written = new Set(scrape.series(metric).map((sample) => sample.labels[label]));
          expect([...written], `${panel}: ${metric}{${label}${operator}"${value}"}`).toContain(value);
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
      {
        metric: 'a_bucket',
        matchers: [
          { label: 'job', operator: '=~', value: '$job' },
          { label: 'code', operator: '!=', value: 'x{y}' },
        ],
      },
      { metric: 'b', matchers: [] },
    ]);
    expect(references.groupings).toEqual([{ labels: ['action', 'le'], metrics: ['a_bucket'] }]);
  });
});
