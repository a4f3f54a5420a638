/**
 * What a PromQL expression names, read well enough to check a dashboard against the metrics
 * catalogue: the metrics it selects, the labels its matchers and `by`/`without` clauses use.
 * Not a PromQL parser: it knows the subset the dashboard writes (prefix `by`, no `offset`, no
 * subqueries), and the dashboard test fails on anything it cannot read.
 */
export interface Matcher {
  readonly label: string;
  readonly operator: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  readonly metric: string;
  /** `{a="x", b=~"y"}`: the label, operator and value of each. */
  readonly matchers: readonly Matcher[];
}

export interface Grouping {
  readonly labels: readonly string[];
  /** The metrics selected inside the aggregation the clause belongs to. */
  readonly metrics: readonly string[];
}

export interface PromqlReferences {
  readonly selectors: readonly Selector[];
  readonly groupings: readonly Grouping[];
}

const keywords = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);
// Aggregation operators may be followed by `by (…)` rather than their argument.
const aggregations = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);
const identifier = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;

/** Every selector and grouping of `expr`. */
export function promqlReferences(expr: string): PromqlReferences {
  return { selectors: selectorsOf(expr), groupings: groupingsOf(expr) };
}

/** Identifiers that are neither functions (followed by `(`), keywords nor inside strings or ranges. */
function selectorsOf(expr: string): Selector[] {
  const selectors: Selector[] = [];
  let i = 0;
  while (i < expr.length) {
    const char = expr[i] as string;
    if (char === '"') i = expr.indexOf('"', i + 1) + 1;
    else if (char === '[') i = expr.indexOf(']', i) + 1;
    else if (/[0-9.]/.test(char)) i = skipNumber(expr, i);
    else if (/[a-zA-Z_:]/.test(char)) {
      identifier.lastIndex = i;
      const name = identifier.exec(expr)?.[0] as string;
      i += name.length;
      const next = expr.slice(i).trimStart();
      if (keywords.has(name)) {
        if (next.startsWith('(')) i = expr.indexOf(')', i) + 1; // by (…): label names, not metrics
      } else if (!next.startsWith('(') && !aggregations.has(name)) {
        let matchers: Matcher[] = [];
        if (next.startsWith('{')) {
          const open = expr.indexOf('{', i);
          const close = closingBrace(expr, open);
          matchers = matchersOf(expr.slice(open + 1, close));
          i = close + 1;
        }
        selectors.push({ metric: name, matchers });
      }
    } else i += 1;
    if (i <= 0) throw new Error(`unterminated string or range in ${expr}`);
  }
  return selectors;
}

function skipNumber(expr: string, start: number): number {
  const match = /[0-9.]+(?:e[+-]?[0-9]+)?/y;
  match.lastIndex = start;
  return start + (match.exec(expr)?.[0].length ?? 1);
}

function closingBrace(expr: string, open: number): number {
  for (let i = open + 1; i < expr.length; i += 1) {
    if (expr[i] === '"') i = expr.indexOf('"', i + 1);
    else if (expr[i] === '}') return i;
    if (i < 0) break;
  }
  throw new Error(`unclosed matcher list in ${expr}`);
}

function matchersOf(list: string): Matcher[] {
  return [...list.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(
    (match) => ({
      label: match[1] as string,
      operator: match[2] as Matcher['operator'],
      value: match[3] as string,
    }),
  );
}

/** `by (a, b) (argument)` and `without (…) (…)`: the labels, and the metrics inside the argument. */
function groupingsOf(expr: string): Grouping[] {
  const groupings: Grouping[] = [];
  for (const match of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)\s*\(/g)) {
    const open = (match.index ?? 0) + match[0].length - 1;
    const argument = expr.slice(open, closingParen(expr, open) + 1);
    groupings.push({
      labels: (match[1] as string)
        .split(',')
        .map((label) => label.trim())
        .filter((label) => label !== ''),
      metrics: selectorsOf(argument).map((selector) => selector.metric),
    });
  }
  return groupings;
}

function closingParen(expr: string, open: number): number {
  let depth = 0;
  for (let i = open; i < expr.length; i += 1) {
    if (expr[i] === '"') i = expr.indexOf('"', i + 1);
    else if (expr[i] === '(') depth += 1;
    else if (expr[i] === ')' && --depth === 0) return i;
    if (i < 0) break;
  }
  throw new Error(`unbalanced parentheses in ${expr}`);
}
