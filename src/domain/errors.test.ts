import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ApiError, errorCatalogue, missingParameter } from './errors.js';

const srcDir = fileURLToPath(new URL('..', import.meta.url));
const seedTable = readFileSync(new URL('../../test/fixtures/seed-error-table.txt', import.meta.url), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

describe('the error catalogue', () => {
  it("mirrors the seed's InvokeCommand error table row for row: status, code and message", () => {
    const rows = seedTable.trim().split('\n');
    expect(rows).toHaveLength(31);
    for (const row of rows) {
      const match = /^(\d{3}) (\S+) (.+)$/.exec(row);
      expect(match, row).not.toBeNull();
      const [, status, code, rest] = match as unknown as [string, string, string, string];
      const spec = errorCatalogue[code as keyof typeof errorCatalogue];
      expect(spec, code).toBeDefined();
      expect(spec.status, code).toBe(Number(status));
      expect(rest.startsWith(spec.message), code).toBe(true);
      expect(rest.slice(spec.message.length).trim(), code).toBe(spec.recommend);
    }
  });

  it('holds every code that src/ throws', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(srcDir)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/new ApiError\(\s*'([^']+)'/g)) used.add(match[1] ?? '');
    }
    expect(used.size).toBeGreaterThan(40);
    for (const code of used) expect(Object.keys(errorCatalogue), code).toContain(code);
  });

  it('uses 4xx or 5xx statuses only, and a message for every code', () => {
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      expect(spec.status >= 400 && spec.status < 600, code).toBe(true);
      expect(spec.message, code).not.toBe('');
    }
  });

  it('appends a detail to the message, and names a missing parameter', () => {
    expect(new ApiError('InvalidParameter', 'X is bad.').message).toBe(
      'The specified parameter is not valid. X is bad.',
    );
    expect(missingParameter('RegionId').message).toBe(
      'The input parameter "RegionId" that is mandatory for processing this request is not supplied.',
    );
  });
});
