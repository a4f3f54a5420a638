/** Readers of text columns whose content the schema types as plain text. */

/**
 * Reads a text column that holds one of `values` (the columns stay text so filters from the API
 * compare as text). A value outside them is damage, and fails loudly rather than passing as typed.
 */
export function oneOf<T extends string>(values: readonly T[], column: string): (text: string) => T {
  const known: ReadonlySet<string> = new Set(values);
  const isKnown = (text: string): text is T => known.has(text);
  return (text) => {
    if (isKnown(text)) return text;
    throw new Error(`${column} holds ${JSON.stringify(text)}, not one of ${values.join(', ')}`);
  };
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** Reads a text column that holds a JSON array of strings; anything else is damage. */
export function stringsOf(column: string): (text: string) => string[] {
  return (text) => {
    const parsed: unknown = JSON.parse(text);
    if (isStringArray(parsed)) return parsed;
    throw new Error(`${column} holds ${text.slice(0, 80)}, not an array of strings`);
  };
}
