/**
 * Narrowing of values whose type the compiler cannot know (parsed JSON, caught errors, request
 * text), so that callers check instead of asserting a type.
 */

/** A JSON object (not null, not an array): its fields are still to be checked one by one. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether `value` is one of `options`: narrows a string to a union of its literals. */
export const isOneOf = <T extends string>(options: readonly T[], value: unknown): value is T =>
  options.some((option) => option === value);

/** The `code` of a Node.js system error (`ENOENT`, `EEXIST`, …); undefined for anything else. */
export const errnoCode = (error: unknown): string | undefined =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
