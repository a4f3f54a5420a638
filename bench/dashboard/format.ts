/** Grafana's units, as far as the dashboard uses them: a value and its unit as an axis or stat shows it. */
export function formatValue(value: number, unit: string, decimals?: number): string {
  switch (unit) {
    case 's':
      if (value === 0) return '0 s';
      if (value < 0.001) return `${number(value * 1e6, decimals)} µs`;
      if (value < 1) return `${number(value * 1e3, decimals)} ms`;
      if (value < 60) return `${number(value, decimals)} s`;
      return `${number(value / 60, decimals)} min`;
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let scaled = value;
      let index = 0;
      while (Math.abs(scaled) >= 1024 && index < units.length - 1) {
        scaled /= 1024;
        index += 1;
      }
      return `${number(scaled, decimals)} ${units[index]}`;
    }
    case 'percentunit':
      return `${number(value * 100, decimals)}%`;
    case 'reqps':
      return `${number(value, decimals)} req/s`;
    case 'ops':
      return `${number(value, decimals)} ops/s`;
    default:
      return number(value, decimals);
  }
}

/** Three significant digits at most, thousands as k, no trailing zeros. */
function number(value: number, decimals?: number): string {
  if (decimals !== undefined) return value.toFixed(decimals);
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${trim((value / 1e3).toPrecision(3))}k`;
  if (abs >= 100 || value === 0) return String(Math.round(value));
  return trim(value.toPrecision(3));
}

const trim = (text: string) => (text.includes('.') ? text.replace(/\.?0+$/, '') : text);

/** Axis ticks: 0 up to a round number at or above `max`, in steps of 1, 2 or 5 × 10^k. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((factor) => factor * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let tick = 0; tick < max + step * 0.999; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}
