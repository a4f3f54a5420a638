import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Runs dist/ (build first). An ES import of a CommonJS package makes Node scan its files for export
// names (cjs-module-lexer); on ws that left about 4 MiB in the idle agent, so the agent requires them.
describe('the agent process', () => {
  it('loads no CommonJS package through the ES module loader', () => {
    const dist = fileURLToPath(new URL('../../dist/src/', import.meta.url));
    const script = [
      `await import(${JSON.stringify(`${dist}cli/main.js`)});`,
      `await import(${JSON.stringify(`${dist}agent/agent.js`)});`,
      'console.log(JSON.stringify(process.moduleLoadList));',
    ].join('\n');
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
    ) as string[];
    expect(loaded).toContain('NativeModule child_process'); // the agent's modules did load
    expect(loaded.filter((name) => name.includes('cjs-module-lexer'))).toEqual([]);
  });
});
