import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The layering rules are biome.json overrides of noRestrictedImports. This runs the repository's
// biome.json over probe files in a scratch tree laid out like src/, so a rule that stops biting
// (a moved folder, a mistyped glob) fails here, without ever writing a violation into src/.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const biome = join(root, 'node_modules', '.bin', 'biome');

interface Probe {
  readonly file: string;
  readonly from: string;
  readonly allowed: boolean;
}

const probes: readonly Probe[] = [
  { file: 'src/domain/p1.ts', from: '../store/store.js', allowed: false },
  { file: 'src/domain/p2.ts', from: '../api/errors.js', allowed: false },
  { file: 'src/domain/p3.ts', from: '../dispatch/agent-hub.js', allowed: false },
  { file: 'src/domain/p4.ts', from: '../agent/journal.js', allowed: false },
  { file: 'src/domain/p5.ts', from: '../service/access-keys.js', allowed: false },
  { file: 'src/domain/ok.ts', from: '../protocol/messages.js', allowed: true },
  { file: 'src/agent/p1.ts', from: '../store/store.js', allowed: false },
  { file: 'src/agent/p2.ts', from: '../service/access-keys.js', allowed: false },
  { file: 'src/agent/p3.ts', from: '../api/errors.js', allowed: false },
  { file: 'src/agent/load/p4.ts', from: '../../dispatch/agent-hub.js', allowed: false },
  { file: 'src/agent/p5.ts', from: '../telemetry/tracing.js', allowed: false },
  { file: 'src/agent/p6.ts', from: '@opentelemetry/api', allowed: false },
  { file: 'src/agent/p7.ts', from: '@opentelemetry/sdk-trace-base', allowed: false },
  { file: 'src/agent/ok.ts', from: '../protocol/messages.js', allowed: true },
  { file: 'src/cli/p1.ts', from: '../store/store.js', allowed: false },
  { file: 'src/cli/verbs/p2.ts', from: '../../service/root-access-key.js', allowed: false },
  { file: 'src/console/p1.ts', from: '../service/access-keys.js', allowed: false },
  { file: 'src/client/p1.ts', from: '../store/store.js', allowed: false },
  { file: 'src/cli/ok.ts', from: '../data-files.js', allowed: true },
  { file: 'src/client/ok.ts', from: '../api/signature/signed-request.js', allowed: true },
  { file: 'src/store/p1.ts', from: '../api/errors.js', allowed: false },
  { file: 'src/store/sql/p2.ts', from: '../../api/errors.js', allowed: false },
  { file: 'src/store/ok.ts', from: '../domain/tags.js', allowed: true },
  { file: 'src/telemetry/p1.ts', from: '../api/rpc.js', allowed: false },
  { file: 'src/telemetry/p2.ts', from: '../dispatch/agent-hub.js', allowed: false },
  { file: 'src/telemetry/p3.ts', from: '../agent/journal.js', allowed: false },
  { file: 'src/telemetry/ok.ts', from: '../store/store.js', allowed: true },
];

const scratch = mkdtempSync(join(tmpdir(), 'layering-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Report {
  readonly diagnostics: readonly { category: string; message: string; location: { path: string } }[];
}

describe('layering lint rules', () => {
  it('flag exactly the imports that cross a boundary, with the layering message', () => {
    copyFileSync(join(root, 'biome.json'), join(scratch, 'biome.json'));
    for (const probe of probes) {
      mkdirSync(dirname(join(scratch, probe.file)), { recursive: true });
      writeFileSync(join(scratch, probe.file), `export * from '${probe.from}';\n`);
    }
    // A dynamic import and a type-only import count too.
    writeFileSync(join(scratch, 'src/cli/p3.ts'), "export const m = import('../service/access-keys.js');\n");
    writeFileSync(join(scratch, 'src/domain/p6.ts'), "export type { S } from '../store/store.js';\n");

    const run = spawnSync(
      biome,
      ['lint', '--vcs-enabled=false', '--only=style/noRestrictedImports', '--reporter=json', '.'],
      { cwd: scratch, encoding: 'utf8', timeout: 20_000 },
    );
    const report = JSON.parse(run.stdout) as Report; // biome's JSON reporter; shape checked below
    const flagged = report.diagnostics.map((d) => {
      expect(d.category).toBe('lint/style/noRestrictedImports');
      expect(d.message).toMatch(/^Layering \(docs\/architecture\.md\)/);
      return d.location.path;
    });
    const expected = [
      ...probes.filter((probe) => !probe.allowed).map((probe) => probe.file),
      'src/cli/p3.ts',
      'src/domain/p6.ts',
    ];
    expect(flagged.sort()).toEqual(expected.sort());
    expect(run.status).toBe(1);
  });
});
