import { ApiError, type ErrorCode, missingParameter } from '../domain/errors.js';

const integerText = /^-?\d{1,16}$/;

/**
 * Typed, strict readers over the decoded RPC parameters. Wire names (PascalCase) live here and in
 * the action files only. A value of the wrong shape is refused with `InvalidParameter` naming it.
 */
export class Params {
  constructor(private readonly values: ReadonlyMap<string, string>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    return this.values.get(name);
  }

  /** A string that must be present and non-empty. */
  required(name: string): string {
    const value = this.values.get(name);
    if (value === undefined || value === '') throw missingParameter(name);
    return value;
  }

  integer(name: string, code: ErrorCode = 'InvalidParameter'): number | undefined {
    const value = this.values.get(name);
    if (value === undefined || value === '') return undefined;
    if (!integerText.test(value)) throw new ApiError(code, `${name} must be a whole number.`);
    return Number(value);
  }

  boolean(name: string): boolean | undefined {
    const value = this.values.get(name);
    if (value === undefined || value === '') return undefined;
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw new ApiError('InvalidParameter', `${name} must be true or false.`);
  }

  /** A JSON-string parameter (`Parameters`, `InstanceIds`). */
  json(name: string): unknown {
    const value = this.values.get(name);
    if (value === undefined || value === '') return undefined;
    try {
      return JSON.parse(value);
    } catch {
      throw new ApiError('InvalidParameter', `${name} must be valid JSON.`);
    }
  }

  /**
   * `Name.1`, `Name.2`, … in index order; an index above `max` throws `tooMany`. With `empty`, an
   * element sent empty (`InstanceId.1=`) throws it: an id list never holds an empty id.
   */
  list(name: string, max: number, tooMany: () => ApiError, empty?: () => ApiError): string[] {
    const values = this.indexed(name, /^(\d+)$/, max, tooMany).map(([, value]) => value);
    if (empty && values.includes('')) throw empty();
    return values;
  }

  /** `Name.N.Field` entries grouped by N, in index order: `Tag.1.Key`, `Tag.1.Value`, … */
  objects<F extends string>(
    name: string,
    fields: readonly F[],
    max: number,
    tooMany: () => ApiError,
  ): Partial<Record<F, string>>[] {
    const byIndex = new Map<number, Partial<Record<F, string>>>();
    for (const [index, value, field] of this.indexed(name, /^(\d+)\.(\w+)$/, max, tooMany)) {
      const known = fields.find((name) => name === field);
      if (known === undefined) continue;
      const entry: Partial<Record<F, string>> = byIndex.get(index) ?? {};
      entry[known] = value;
      byIndex.set(index, entry);
    }
    return [...byIndex.values()];
  }

  private indexed(
    name: string,
    suffix: RegExp,
    max: number,
    tooMany: () => ApiError,
  ): [number, string, string][] {
    const prefix = `${name}.`;
    const found: [number, string, string][] = [];
    for (const [key, value] of this.values) {
      if (!key.startsWith(prefix)) continue;
      const match = suffix.exec(key.slice(prefix.length));
      if (!match) continue;
      const digits = match[1] ?? '';
      if (digits.startsWith('0')) throw new ApiError('InvalidParameter', `${key}: N counts from 1.`);
      const index = digits.length > 6 ? Number.POSITIVE_INFINITY : Number(digits);
      if (index > max) throw tooMany();
      found.push([index, value, match[2] ?? '']);
    }
    found.sort(([a], [b]) => a - b);
    return found;
  }
}
