import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readEnvironment } from '../../src/config.js';

const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url));

/** Every variable readEnvironment() asks for, recorded by an environment that answers nothing. */
function variablesRead(): Set<string> {
  const asked = new Set<string>();
  const recorder = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') asked.add(name);
        return undefined;
      },
    },
  );
  readEnvironment(recorder);
  return asked;
}

/** The variables named in the first column of README's environment table. */
async function variablesDocumented(): Promise<Set<string>> {
  const readme = await readFile(readmePath, 'utf8');
  const table = readme.slice(readme.indexOf('| variable'));
  const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
  const names = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)]);
  return new Set(names.map((match) => match[1] ?? ''));
}

// Read by the programs, but not settings of OpenAssist: the process's own PATH, time zone and terminal.
const processVariables = ['PATH', 'TZ', 'NO_COLOR', 'TERM'];
// Documented beside the table: the test-only knobs (OPENASSIST_TEST_*) and the bench's load generator.
const documentedApart = (name: string) =>
  name.startsWith('OPENASSIST_TEST_') || name === 'OPENASSIST_LOAD_ACTIVATIONS';

describe("README's environment table", () => {
  it('lists every variable the programs read, and no other', async () => {
    const read = [...variablesRead()].filter(
      (name) => !processVariables.includes(name) && !documentedApart(name),
    );
    expect([...(await variablesDocumented())].sort()).toEqual(read.sort());
  });

  it('says the test-only knobs and the load generator variable exist', async () => {
    const readme = await readFile(readmePath, 'utf8');
    expect(readme).toContain('`OPENASSIST_TEST_*`');
    expect(readme).toContain('`OPENASSIST_LOAD_ACTIVATIONS`');
    expect([...variablesRead()].filter(documentedApart).length).toBeGreaterThan(0);
  });
});
