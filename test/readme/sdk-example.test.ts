import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The first ```js block under the README's "Using the official SDK" heading. */
async function sdkExample(): Promise<string> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using the official SDK'));
  const block = /```js\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!block) throw new Error('no js block under "Using the official SDK"');
  return block;
}

// The README's SDK example, pasted as it says (hello.mjs, a folder of its own with the two SDK
// packages installed), against a real server whose key `server` generated into its data dir.
describe('the README SDK example', () => {
  let server: ServerProcess;
  let folder: string;

  beforeAll(async () => {
    server = await startServerProcess({
      env: { OPENASSIST_ROOT_ACCESS_KEY_ID: '', OPENASSIST_ROOT_ACCESS_KEY_SECRET: '' },
    });
    // Outside the checkout; its node_modules holds the SDK packages and nothing else of ours.
    folder = await mkdtemp(join(tmpdir(), 'openassist-readme-'));
    await mkdir(join(folder, 'node_modules'));
    await symlink(join(repo, 'node_modules', '@alicloud'), join(folder, 'node_modules', '@alicloud'));
  });

  afterAll(async () => {
    await server?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('runs as written, saved as hello.mjs, and prints the new command id', async () => {
    await writeFile(join(folder, 'hello.mjs'), await sdkExample());
    const env: NodeJS.ProcessEnv = { ...process.env, OPENASSIST_DATA_DIR: server.dataDir };
    for (const name of ['OPENASSIST_ENDPOINT', 'OPENASSIST_ACCESS_KEY_ID', 'OPENASSIST_ACCESS_KEY_SECRET'])
      delete env[name];
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['hello.mjs'], { cwd: folder, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.stderr).toBe('');
    expect([result.code, result.stdout]).toEqual([0, expect.stringMatching(/^c-[0-9a-z]+\n$/)]);
  });
});
