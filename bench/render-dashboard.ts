import { stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/console/chromium.js';
import type { PanelSeries } from './dashboard/chart.js';
import {
  type Deployment,
  startDeployment,
  startPostgresDeployment,
  startWebhookReceiver,
  type WebhookReceiver,
} from './dashboard/deployments.js';
import { pageWidthPx, renderPage } from './dashboard/page.js';
import {
  allOf,
  legendOf,
  type Panel,
  readDashboard,
  type Substitutions,
  substitute,
} from './dashboard/panels.js';
import { type Prometheus, scrapeConfig, startPrometheus } from './dashboard/prometheus.js';
import { runWorkload } from './dashboard/workload.js';
import { cpuSeconds } from './proc.js';

/**
 * `npm run dashboard:render`: Grafana is not packaged for Debian nor npm, so this renders the
 * dashboard (docs/grafana/openassist-dashboard.json) itself from real data: a server on SQLite with
 * real and memory agents (plus one on PostgreSQL when it answers, for the pool panel), a scripted
 * workload through the official SDK, a real Prometheus scraping them every second, then each
 * panel's PromQL evaluated over the run with query_range and drawn as SVG, screenshot by Chromium.
 */
const docs = fileURLToPath(new URL('../../docs/grafana/', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '75' },
    html: { type: 'string' },
    out: { type: 'string', default: `${docs}dashboard.png` },
  },
});
const seconds = Number(flags.seconds);
const scrapeIntervalS = 1;

async function main(): Promise<void> {
  const dashboard = await readDashboard(`${docs}openassist-dashboard.json`);
  const webhook = await startWebhookReceiver();
  const deployments: Deployment[] = [];
  try {
    deployments.push(
      await startDeployment({ job: 'openassist', realAgents: 3, memoryAgents: 16, withOfflineAgent: true }),
    );
    const postgres = await startPostgresDeployment();
    if (postgres) deployments.push(postgres);
    const targets = deployments.map((d) => ({ job: d.job, target: d.server.endpoint }));
    const prometheus = await startPrometheus(scrapeConfig(targets, scrapeIntervalS));
    try {
      await render(dashboard, prometheus, deployments, webhook);
    } finally {
      await prometheus.stop();
    }
  } finally {
    for (const deployment of deployments.reverse()) await deployment.stop();
    await webhook.stop();
  }
}

/** The workload, then every panel evaluated over it, drawn and screenshot; prints the figures. */
async function render(
  dashboard: { title: string; panels: Panel[] },
  prometheus: Prometheus,
  deployments: readonly Deployment[],
  webhook: WebhookReceiver,
): Promise<void> {
  // From Prometheus' start: the gauges show from the left edge, the rates once their window fills.
  const startS = Date.now() / 1000;
  const [main, ...others] = deployments as [Deployment, ...Deployment[]];
  const serverPid = main.server.child.pid as number;
  const cpuBefore = await cpuSeconds(serverPid);
  const tally = await runWorkload(main, others, seconds, webhook);
  const serverCpuS = (await cpuSeconds(serverPid)) - cpuBefore;
  await prometheus.scrapedAfter(Date.now() / 1000);
  const endS = Date.now() / 1000;
  const scrapes = await prometheus.queryValue(`sum(count_over_time(up[${Math.ceil(endS - startS)}s]))`);
  const substitutions: Substitutions = {
    variables: {
      job: allOf(deployments.map((d) => d.job)),
      instance: allOf(deployments.map((d) => d.server.endpoint)),
    },
    rateIntervalS: 10,
    intervalS: 2,
  };
  const panels = await Promise.all(
    dashboard.panels.map(async (panel) => ({
      panel,
      series: await evaluate(panel, prometheus, { startS, endS }, substitutions),
    })),
  );
  const empty = panels.filter(({ panel, series }) => panel.type !== 'row' && series.length === 0);
  const caption =
    `${Math.round(endS - startS)} s of a scripted workload (${tally.calls} SDK calls, ${tally.invocations} invocations), ` +
    `${scrapes} scrapes by Prometheus every ${scrapeIntervalS} s; $__rate_interval = ${substitutions.rateIntervalS}s; ` +
    'times UTC; rendered by bench/render-dashboard.ts';
  const html = renderPage({ title: dashboard.title, caption, startS, endS, panels });
  if (flags.html) await writeFile(flags.html, html);
  await screenshot(html, flags.out);
  console.log(
    JSON.stringify({
      seconds: Math.round(endS - startS),
      ...tally,
      scrapes,
      webhookDeliveries: webhook.received,
      jobs: deployments.map((d) => d.job),
      panels: panels.length,
      emptyPanels: empty.map(({ panel }) => panel.title),
      serverCpuSeconds: serverCpuS,
      serverCpuMsPerCall: Number(((serverCpuS * 1000) / tally.calls).toFixed(2)),
      png: flags.out,
      pngBytes: (await stat(flags.out)).size,
    }),
  );
  if (empty.length > 0) process.exitCode = 1;
}

/** Every series of a panel's queries over the range, named by their legends. */
async function evaluate(
  panel: Panel,
  prometheus: Prometheus,
  range: { startS: number; endS: number },
  substitutions: Substitutions,
): Promise<PanelSeries[]> {
  const series: PanelSeries[] = [];
  for (const target of panel.targets) {
    const expr = substitute(target.expr, substitutions);
    const result = await prometheus.queryRange(expr, range.startS, range.endS, substitutions.intervalS);
    for (const { labels, points } of result) {
      if (points.length > 0) series.push({ name: legendOf(target.legendFormat, labels), points });
    }
  }
  return series;
}

async function screenshot(html: string, path: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: pageWidthPx + 16, height: 900 } });
    await page.setContent(html);
    await page.screenshot({ path, fullPage: true });
  } finally {
    await browser.close();
  }
}

await main();
