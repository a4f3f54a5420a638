/**
 * Agent versions compared as semantic versions, leniently: `MAJOR.MINOR.PATCH` with any number of
 * numeric parts (Alibaba's agents have four: `2.2.3.282`), an optional pre-release after `-` (older
 * than the release it precedes: `0.3.0-rc.1` < `0.3.0`) and build metadata after `+` (ignored). A
 * missing or non-numeric part counts as 0, so a version nobody can read is older than any real one.
 */
export function compareVersions(a: string, b: string): number {
  const [left, right] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < Math.max(left.core.length, right.core.length); i++) {
    const diff = (left.core[i] ?? 0) - (right.core[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  // Same release: one without a pre-release is newer than one with.
  if (left.pre.length === 0 || right.pre.length === 0) {
    if (left.pre.length === right.pre.length) return 0;
    return left.pre.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.max(left.pre.length, right.pre.length); i++) {
    const diff = comparePreRelease(left.pre[i], right.pre[i]);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Whether `candidate` is newer than `current`. */
export const isNewerVersion = (candidate: string, current: string): boolean =>
  compareVersions(candidate, current) > 0;

function parseVersion(text: string): { core: number[]; pre: string[] } {
  const withoutBuild = text.trim().split('+')[0] ?? '';
  const dash = withoutBuild.indexOf('-');
  const core = dash < 0 ? withoutBuild : withoutBuild.slice(0, dash);
  const pre = dash < 0 ? '' : withoutBuild.slice(dash + 1);
  return {
    core: core.split('.').map((part) => Number.parseInt(part, 10) || 0),
    pre: pre === '' ? [] : pre.split('.'),
  };
}

/** SemVer's pre-release order: fewer identifiers first, numbers below words, numbers as numbers. */
function comparePreRelease(a: string | undefined, b: string | undefined): number {
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const [numericA, numericB] = [/^\d+$/.test(a), /^\d+$/.test(b)];
  if (numericA && numericB) return Math.sign(Number(a) - Number(b));
  if (numericA !== numericB) return numericA ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
