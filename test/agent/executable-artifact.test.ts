import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentExecutableName,
  buildAgentExecutable,
  bundleAgent,
  bundleProblems,
  deferredBuiltins,
  repositoryRoot,
} from '../../src/agent/executable/build.js';
import { waitFor } from '../helpers/deadline.js';

const run = promisify(execFile);
const root = repositoryRoot();
const packageVersion = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string })
  .version;

describe('the agent executable npm run build makes', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'openassist-artifact-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is dist/agent/openassist-agent-linux-<arch>, executable, beside a .sha256 that matches it', async () => {
    const path = join(root, 'dist/agent', agentExecutableName());
    if (!existsSync(path)) await buildAgentExecutable();
    expect(agentExecutableName()).toBe(`openassist-agent-linux-${process.arch}`);
    expect((await stat(path)).mode & 0o755).toBe(0o755);
    const digest = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    // sha256sum's format, so `sha256sum -c` checks it where the two files are.
    expect(await readFile(`${path}.sha256`, 'utf8')).toBe(`${digest}  ${agentExecutableName()}\n`);
    const { stdout } = await run('sha256sum', ['-c', `${agentExecutableName()}.sha256`], {
      cwd: join(root, 'dist/agent'),
    });
    expect(stdout).toBe(`${agentExecutableName()}: OK\n`);
    expect((await run(path, ['--version'])).stdout).toBe(`${packageVersion}\n`);
  }, 60_000);

  it('is built as another version when asked (an agent one version behind, for upgrade tests)', async () => {
    const built = await buildAgentExecutable({ outDir: scratch, version: '0.0.9' });
    expect(built).toMatchObject({ path: join(scratch, agentExecutableName()), version: '0.0.9' });
    expect((await run(built.path, ['--version'])).stdout).toBe('0.0.9\n');
    const help = (await run(built.path, ['--help'])).stdout;
    for (const flag of [
      '--server',
      '--state-dir',
      '--activation-id',
      '--activation-code-file',
      '--ca',
      '--reset-journal',
    ]) {
      expect(help).toContain(flag);
    }
  }, 60_000);

  it('hides a code passed with --activation-code from ps, its arguments shown once', async () => {
    // A server that accepts and never answers: the agent waits in its registration, code in hand.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const path = join(root, 'dist/agent', agentExecutableName());
    const args = ['--server', `http://127.0.0.1:${port}`, '--state-dir', join(scratch, 'state')];
    const child = spawn(path, [...args, '--activation-id', 'a', '--activation-code', 'SECRET-CODE']);
    try {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      await waitFor('the deprecation notice', () => (stderr.includes('deprecated') ? true : undefined));
      // The title Node writes over the command line: one string, NUL-padded to the original length.
      const shown = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).replace(/\0+$/, '');
      expect(shown).toBe([path, ...args, '--activation-id', 'a', '--activation-code', '***'].join(' '));
    } finally {
      child.kill('SIGKILL');
      silent.close();
    }
  }, 30_000);

  it('leaves https, tls, child_process, dns and v8 unloaded until the agent uses them', async () => {
    const { main } = await bundleAgent(root, scratch, packageVersion);
    // The Node modules the main script has loaded once all its modules are evaluated.
    const probe = join(scratch, 'probe.cjs');
    await writeFile(
      probe,
      "process.on('exit', () => process.stderr.write(JSON.stringify(process.moduleLoadList)));\n",
    );
    const { stdout, stderr } = await run(process.execPath, ['--require', probe, main, '--version']);
    expect(stdout.trim()).toBe(packageVersion);
    const loaded = (JSON.parse(stderr) as string[])
      .filter((entry) => entry.startsWith('NativeModule '))
      .map((entry) => entry.slice('NativeModule '.length));
    expect(loaded).toContain('http');
    expect(deferredBuiltins.filter((name) => loaded.includes(name))).toEqual([]);
  }, 60_000);

  it('bundles no native addon and never requires SQLite', async () => {
    const { main, assets, metafile } = await bundleAgent(root, scratch, packageVersion);
    expect(bundleProblems(metafile)).toEqual([]);
    expect(Object.keys(metafile.inputs).some((input) => input.includes('better-sqlite3'))).toBe(false);
    // Nothing left for Node to load from disk at run time: only its own modules.
    const scripts = await Promise.all([main, ...Object.values(assets)].map((file) => readFile(file, 'utf8')));
    const required = scripts.flatMap((script) =>
      [...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]),
    );
    // The container runners are assets of their own, loaded on first use.
    expect(Object.keys(assets).sort()).toEqual(['cri-runner.cjs', 'docker-runner.cjs']);
    expect(scripts[0]).not.toContain('dockerode');
    expect(
      required.filter((name) => !name?.startsWith('node:') && !builtinModules.includes(name ?? '')),
    ).toEqual([]);
    // The check itself finds what it looks for.
    const addon = { bytes: 1, imports: [] };
    expect(bundleProblems({ inputs: { 'node_modules/x/build/Release/x.node': addon }, outputs: {} })).toEqual(
      ['native addon node_modules/x/build/Release/x.node'],
    );
  }, 60_000);
});
