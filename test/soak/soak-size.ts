/** `npm run test:soak` runs the full sizes; CI runs it with OPENASSIST_SOAK=quick. */
export const quick = process.env.OPENASSIST_SOAK === 'quick';

/** Percentiles of a list of milliseconds. */
export function percentiles(samples: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}
