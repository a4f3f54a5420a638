import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Metafile, Plugin } from 'esbuild';
import { processEnvironment } from '../../config.js';

const run = promisify(execFile);

/** The name of the agent's executable for this machine: `openassist-agent-linux-x64`, …-arm64. */
export const agentExecutableName = (arch: string = process.arch): string => `openassist-agent-linux-${arch}`;

/** The fuse Node's single-executable support looks for (Node's documentation of SEA names it). */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Native speed-ups their users require inside try/catch and do without: ws's bufferutil and
 * utf-8-validate, ssh2's cpu-features and sshcrypto.node (under dockerode). In the bundle each is a
 * module that throws as a missing one would, so the JavaScript fallbacks run and the executable never
 * looks for a file at run time (its `require` reaches only Node's own modules anyway).
 */
const absentOptional = /^(bufferutil|utf-8-validate|cpu-features)$|\.node$/;

const absent: Plugin = {
  name: 'absent-native',
  setup(build) {
    build.onResolve({ filter: absentOptional }, ({ path }) => ({ path, namespace: 'absent' }));
    build.onLoad({ filter: /.*/, namespace: 'absent' }, ({ path }) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`${path} is not in the agent executable`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

/** A string field of a package.json's text. */
function packageField(text: string, name: string): string | undefined {
  const pkg: unknown = JSON.parse(text);
  const field: unknown = typeof pkg === 'object' && pkg !== null ? Reflect.get(pkg, name) : undefined;
  return typeof field === 'string' ? field : undefined;
}

/** The repository root: the folder above this file whose package.json is openassist's (src/ or dist/src/). */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && packageField(readFileSync(pkg, 'utf8'), 'name') === 'openassist') return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('the openassist repository root was not found above the build module');
    dir = parent;
  }
}

export interface AgentBuildOptions {
  /** Where the executable and its .sha256 go (default: `dist/agent` of the repository). */
  readonly outDir?: string;
  /** The version the executable reports (default: package.json's; `npm run build` takes OPENASSIST_AGENT_BUILD_VERSION). */
  readonly version?: string;
}

export interface BuiltAgent {
  readonly path: string;
  readonly sha256Path: string;
  readonly sha256: string;
  readonly version: string;
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * The agent's sources import CommonJS packages through `createRequire(import.meta.url)(name)` (to
 * spare Node's ESM loader the scan of their exports); in the bundle that is a plain `require`, so
 * esbuild follows it and the package is bundled.
 */
const plainRequire: Plugin = {
  name: 'plain-require',
  setup(build) {
    build.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      return { contents: source.replaceAll('createRequire(import.meta.url)(', 'require('), loader: 'ts' };
    });
  },
};

/** src/version.ts (which reads package.json beside the sources) becomes the built version itself. */
const builtVersion = (version: string): Plugin => ({
  name: 'built-version',
  setup(build) {
    build.onLoad({ filter: /[/\\]src[/\\]version\.ts$/ }, () => ({
      contents: `export const version = ${JSON.stringify(version)};`,
      loader: 'ts',
    }));
  },
});

/** What must not be in the executable: a native addon (it needs a compiler, or a file beside it) or SQLite. */
export function bundleProblems(metafile: Metafile): string[] {
  // Inputs of the `absent:` namespace are the throwing stand-ins above, not files.
  const inputs = Object.keys(metafile.inputs).filter((path) => !path.startsWith('absent:'));
  const imports = Object.values(metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
  return [
    ...inputs.filter((path) => path.endsWith('.node')).map((path) => `native addon ${path}`),
    ...[...inputs, ...imports]
      .filter((path) => path.includes('node_modules/better-sqlite3/'))
      .map((path) => `SQLite driver ${path}`),
  ];
}

/**
 * Parts of the agent bundled apart and carried as assets of the executable: the container runners
 * with their clients (dockerode and ssh2, gRPC and protobufjs: 0.9 MB of the 1.1 MB bundle). The main
 * script loads one on the first run in a container, so an idle agent holds neither their source nor
 * their code (measured: 1.9 MiB less idle RSS).
 */
const lazyParts: Record<string, string> = {
  'docker-runner.cjs': 'src/agent/docker-runner.ts',
  'cri-runner.cjs': 'src/agent/cri-runner.ts',
};

/** In the main script, `import('./docker-runner.js')` becomes the evaluation of its asset. */
const partsFromAssets: Plugin = {
  name: 'parts-from-assets',
  setup(build) {
    build.onResolve({ filter: /^\.\/(docker-runner|cri-runner)\.js$/ }, ({ path, importer }) =>
      importer.endsWith('containers.ts')
        ? { path: path.replace(/^\.\/(.*)\.js$/, '$1.cjs'), namespace: 'sea-asset' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'sea-asset' }, ({ path }) => ({
      contents: [
        `const source = require('node:sea').getAsset(${JSON.stringify(path)}, 'utf8');`,
        'const part = { exports: {} };',
        // The wrapper of a CommonJS module, as the main script has (some packages read __dirname).
        `require('node:vm').compileFunction(source, ['module', 'exports', 'require', '__filename', '__dirname'], { filename: ${JSON.stringify(path)} })(part, part.exports, require, __filename, __dirname);`,
        'module.exports = part.exports;',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * Node modules an idle agent never calls: https and tls (ws and the registration import them, only an
 * https:// server uses them), child_process (the first task), dns (a server given by name), v8 (the
 * collector of a file transfer's buffers, src/transfer-memory.ts). In the main script each is a
 * module of getters that loads the real one on first use (measured idle RSS: 44.5 MiB instead of
 * 45.0 after 3 s, 42.4-42.5 instead of 42.6-42.7 after 10 s).
 */
export const deferredBuiltins = ['https', 'tls', 'child_process', 'dns', 'v8'];

const deferBuiltins: Plugin = {
  name: 'defer-builtins',
  setup(build) {
    const filter = new RegExp(`^(node:)?(${deferredBuiltins.join('|')})$`);
    build.onResolve({ filter }, ({ path, namespace }) =>
      // The getters' own require is of the real module.
      namespace === 'deferred-builtin'
        ? { path, external: true }
        : { path: path.replace(/^node:/, ''), namespace: 'deferred-builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'deferred-builtin' }, ({ path }) => {
      // The names of this Node's module: the executable is this Node.
      const names = Object.keys(createRequire(import.meta.url)(`node:${path}`));
      return {
        contents: [
          'let loaded;',
          `const real = () => (loaded ??= require(${JSON.stringify(`node:${path}`)}));`,
          `for (const name of ${JSON.stringify(names)})`,
          '  Object.defineProperty(exports, name, { enumerable: true, get: () => real()[name] });',
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

export interface AgentBundle {
  /** The main script. */
  readonly main: string;
  /** The executable's assets by name: the lazily loaded parts. */
  readonly assets: Record<string, string>;
  /** What esbuild put in the main script and the parts, together. */
  readonly metafile: Metafile;
}

/** esbuild: the agent as CommonJS files for Node 20 in `outDir` (a main script and its lazy parts), its version fixed in them. */
export async function bundleAgent(root: string, outDir: string, version: string): Promise<AgentBundle> {
  const { build } = await import('esbuild');
  const bundleOne = async (entry: string, outfile: string, plugins: Plugin[]) =>
    (
      await build({
        entryPoints: [join(root, entry)],
        outfile,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        minify: true,
        legalComments: 'eof',
        // import.meta is empty in CommonJS: a path made from it would point nowhere in the executable.
        logOverride: { 'empty-import-meta': 'error' },
        plugins: [...plugins, absent, builtVersion(version), plainRequire],
        metafile: true,
        logLevel: 'warning',
      })
    ).metafile;
  const main = join(outDir, 'agent.cjs');
  const assets = Object.fromEntries(Object.keys(lazyParts).map((name) => [name, join(outDir, name)]));
  const metafiles = await Promise.all([
    bundleOne('src/agent/executable/main.ts', main, [partsFromAssets, deferBuiltins]),
    ...Object.entries(lazyParts).map(([name, entry]) => bundleOne(entry, join(outDir, name), [])),
  ]);
  const metafile: Metafile = { inputs: {}, outputs: {} };
  for (const one of metafiles) {
    Object.assign(metafile.inputs, one.inputs);
    Object.assign(metafile.outputs, one.outputs);
  }
  return { main, assets, metafile };
}

/** Makes the SEA blob (`work/sea-prep.blob`) of the bundle with Node itself (`--experimental-sea-config`). */
async function seaBlob(work: string, bundle: AgentBundle): Promise<void> {
  const config = join(work, 'sea-config.json');
  const blob = join(work, 'sea-prep.blob');
  await writeFile(
    config,
    JSON.stringify({
      main: bundle.main,
      assets: bundle.assets,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8's code cache of the bundle: `--version` in 116 ms instead of 180, and 0.9 MiB less idle
      // (measured on this machine); a startup snapshot would need the agent to start from one.
      useCodeCache: true,
      useSnapshot: false,
    }),
  );
  await run(process.execPath, ['--experimental-sea-config', config], { cwd: work });
}

/** A copy of this Node with its symbols stripped (when `strip` is there), the blob injected. */
async function injectInto(work: string): Promise<string> {
  const binary = join(work, 'node');
  await copyFile(process.execPath, binary);
  await chmod(binary, 0o755);
  try {
    await run('strip', ['--strip-all', binary]);
  } catch {
    // no binutils here: the executable is larger, nothing else changes
  }
  // postject's command line, not its API: its ELF library prints harmless warnings about note
  // sections, which go to our captured output instead of the build's.
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  const blobFile = join(work, 'sea-prep.blob');
  await run(process.execPath, [postject, binary, 'NODE_SEA_BLOB', blobFile, '--sentinel-fuse', seaFuse]);
  return binary;
}

/**
 * Builds `openassist-agent-linux-<arch>` and its `.sha256` (sha256sum's format) in `outDir`, for the
 * architecture of the Node running the build (SEA injects into a copy of that Node: no cross-builds).
 * The executable replaces any previous one by a rename, so a reader never sees half a file.
 */
export async function buildAgentExecutable(options: AgentBuildOptions = {}): Promise<BuiltAgent> {
  const started = performance.now();
  const root = repositoryRoot();
  const version =
    options.version ?? packageField(await readFile(join(root, 'package.json'), 'utf8'), 'version');
  if (!version) throw new Error("package.json has no version: pass the agent's version to the build");
  const outDir = options.outDir ?? join(root, 'dist/agent');
  const work = await mkdtemp(join(tmpdir(), 'openassist-agent-build-'));
  try {
    const bundle = await bundleAgent(root, work, version);
    const problems = bundleProblems(bundle.metafile);
    if (problems.length > 0) throw new Error(`the agent bundle must not contain: ${problems.join(', ')}`);
    await seaBlob(work, bundle);
    const binary = await injectInto(work);
    const name = agentExecutableName();
    const contents = await readFile(binary);
    const sha256 = createHash('sha256').update(contents).digest('hex');
    await mkdir(outDir, { recursive: true });
    const path = join(outDir, name);
    await rename(binary, `${path}.tmp`).catch(() => copyFile(binary, `${path}.tmp`));
    await rename(`${path}.tmp`, path);
    const sha256Path = `${path}.sha256`;
    await writeFile(`${sha256Path}.tmp`, `${sha256}  ${name}\n`);
    await rename(`${sha256Path}.tmp`, sha256Path);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    return { path, sha256Path, sha256, version, bytes: contents.length, seconds };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `node dist/src/agent/executable/build.js` (the end of `npm run build`). */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildAgentExecutable({ version: processEnvironment().tools.agentBuildVersion });
  console.log(
    `agent executable ${built.path} ${built.version} (${(built.bytes / 2 ** 20).toFixed(1)} MiB) in ${built.seconds} s`,
  );
}
