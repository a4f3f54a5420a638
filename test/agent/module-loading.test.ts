import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Runs dist/ (build first). An ES import of a CommonJS package makes Node scan its files for export
// names (cjs-module-lexer); on ws that left about 4 MiB in the idle agent, so the agent requires them.
describe('the agent process', () => {
  const dist = fileURLToPath(new URL('../../dist/src/', import.meta.url));
  /** Loads the agent's modules (and opens a journal) in a fresh node; returns what it printed. */
  const loadAgent = (then: string): unknown => {
    const stateDir = mkdtempSync(join(tmpdir(), 'openassist-module-loading-'));
    try {
      const script = [
        `await import(${JSON.stringify(`${dist}cli/main.js`)});`,
        `await import(${JSON.stringify(`${dist}agent/agent.js`)});`,
        `const { openJournal } = await import(${JSON.stringify(`${dist}agent/journal-file.js`)});`,
        `openJournal(${JSON.stringify(stateDir)}, false, () => {}).close();`,
        then,
      ].join('\n');
      return JSON.parse(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
      );
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  };

  it('loads no CommonJS package through the ES module loader', () => {
    const loaded = loadAgent('console.log(JSON.stringify(process.moduleLoadList));') as string[];
    expect(loaded).toContain('NativeModule child_process'); // the agent's modules did load
    expect(loaded.filter((name) => name.includes('cjs-module-lexer'))).toEqual([]);
  });

  it('loads no native addon: no better-sqlite3 unless an older SQLite journal is there to convert', () => {
    const required = loadAgent(
      [
        "const { createRequire } = await import('node:module');",
        'console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));',
      ].join('\n'),
    ) as string[];
    expect(required.some((path) => path.includes('/ws/'))).toBe(true); // the cache is the agent's
    expect(required.filter((path) => /better-sqlite3|bindings|\.node$/.test(path))).toEqual([]);
  });

  it('names better-sqlite3 in one agent module only, the lazy converter of older journals', () => {
    const agentDir = fileURLToPath(new URL('../../src/agent/', import.meta.url));
    const sources = readdirSync(agentDir, { recursive: true, encoding: 'utf8' }).filter(
      (name) => name.endsWith('.ts') && !name.endsWith('.test.ts'),
    );
    const naming = sources.filter((name) =>
      readFileSync(join(agentDir, name), 'utf8').includes("'better-sqlite3'"),
    );
    expect(naming).toEqual(['journal-sqlite.ts']);
    for (const cli of ['main.ts', 'agent-command.ts']) {
      const source = readFileSync(fileURLToPath(new URL(`../../src/cli/${cli}`, import.meta.url)), 'utf8');
      expect(source, cli).not.toContain("'better-sqlite3'");
    }
  });
});
