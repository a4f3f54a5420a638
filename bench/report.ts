/** One bar of the headline chart: a way to run `echo hi` on this machine, and its median. */
export interface Bar {
  readonly label: string;
  readonly medianMs: number;
  readonly ours: boolean;
}

/** A target from the performance issue with the figure measured against it. */
export interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A horizontal bar chart on a log scale (the figures span three orders of magnitude), as SVG. */
export function barChart(title: string, bars: readonly Bar[]): string {
  const width = 760;
  const left = 230;
  const rowHeight = 30;
  const top = 44;
  const height = top + bars.length * rowHeight + 30;
  const maxLog = Math.log10(Math.max(...bars.map((bar) => bar.medianMs), 10) * 1.5);
  const minLog = Math.log10(Math.min(...bars.map((bar) => bar.medianMs), 1) / 1.5);
  const x = (ms: number) => left + ((Math.log10(ms) - minLog) / (maxLog - minLog)) * (width - left - 90);
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const end = x(bar.medianMs);
    const colour = bar.ours ? '#1f7a4d' : '#8a8f98';
    return [
      `<text x="${left - 8}" y="${y + 19}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${left}" y="${y + 5}" width="${Math.max(2, end - left).toFixed(1)}" height="20" fill="${colour}"/>`,
      `<text x="${(end + 6).toFixed(1)}" y="${y + 19}">${bar.medianMs < 10 ? bar.medianMs.toFixed(1) : Math.round(bar.medianMs)} ms</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13" role="img" aria-label="${escapeXml(title)}">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="12" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...rows,
    `<text x="${left}" y="${height - 8}" fill="#555">median wall time, log scale; green: OpenAssist</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export function printVerdicts(verdicts: readonly Verdict[]): void {
  for (const verdict of verdicts) {
    console.log(`${verdict.pass ? 'PASS' : 'FAIL'}  ${verdict.target.padEnd(58)} ${verdict.measured}`);
  }
}
