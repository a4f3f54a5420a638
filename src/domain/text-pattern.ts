/**
 * A text filter with `*` wildcards, as DescribeCommands documents for `Name` and `Description`
 * (`cmd*` starts with, `*cmd` ends with, `*cmd*` contains) and DescribeInstances for
 * `InstanceName`: each `*` stands for any run of characters, and the rest must match the whole
 * field. The store turns it into its own query.
 */
export type TextPattern =
  /** The whole field equals the text, case and all. */
  | { readonly exact: string }
  /** The field is these literal parts with anything between them, ASCII letters in any case. */
  | { readonly folded: readonly string[] };

/**
 * `value` as a pattern. With a `*` it is a search and folds case (Alibaba calls it fuzzy search);
 * without one it is an exact match, unless `foldCase` is `always` (prose such as a description).
 */
export function textPattern(value: string, foldCase: 'always' | 'withWildcards'): TextPattern {
  return value.includes('*') || foldCase === 'always' ? { folded: value.split('*') } : { exact: value };
}

export const foldAscii = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Whether `text` matches `pattern`: the rule both stores implement, stated once for the tests. */
export function matchesPattern(text: string, pattern: TextPattern): boolean {
  if ('exact' in pattern) return text === pattern.exact;
  const subject = foldAscii(text);
  const [first = '', ...rest] = pattern.folded.map(foldAscii);
  const last = rest.pop();
  if (last === undefined) return subject === first;
  if (!subject.startsWith(first)) return false;
  let at = first.length;
  for (const middle of rest) {
    const found = subject.indexOf(middle, at);
    if (found < 0) return false;
    at = found + middle.length;
  }
  return subject.length - last.length >= at && subject.endsWith(last);
}
