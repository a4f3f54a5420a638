import { ApiError } from '../../src/domain/errors.js';

/** The catalogued code `fn` throws, or undefined when it returns; other errors propagate. */
export function errorCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return undefined;
}
