/** Edit distance (insert, delete, substitute one character), case-insensitive. */
function distance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[y.length] ?? 0;
}

/**
 * The known names closest to a mistyped one, best first, at most `max`: within a third of its
 * length in edits (a plural, a typo, the wrong case), or one the name starts or ends (those first).
 */
export function closestNames(name: string, known: Iterable<string>, max = 3): string[] {
  if (name.length === 0 || name.length > 100) return [];
  const limit = Math.max(2, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  return [...known]
    .map((candidate) => {
      const edits = distance(name, candidate);
      const other = candidate.toLowerCase();
      const contains = lower.length >= 4 && (other.startsWith(lower) || other.endsWith(lower));
      return { candidate, edits, contains, near: edits <= limit || contains };
    })
    .filter((entry) => entry.near)
    .sort(
      (a, b) =>
        Number(b.contains) - Number(a.contains) ||
        a.edits - b.edits ||
        a.candidate.localeCompare(b.candidate),
    )
    .slice(0, max)
    .map((entry) => entry.candidate);
}
