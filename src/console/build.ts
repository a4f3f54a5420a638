import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles the browser console (src/console/ui) into dist/console: content-hashed assets under
 * assets/ and an index.html naming them, so the server can cache assets forever and index.html never.
 * Run after tsc, from dist/src/console/build.js.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const ui = `${root}src/console/ui/`;
const out = `${root}dist/console/`;

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: [`${ui}main.tsx`, `${ui}console.css`],
  outdir: `${out}assets`,
  entryNames: '[name]-[hash]',
  // Code loaded on demand (xterm.js, for the terminal pages) gets chunks of its own.
  splitting: true,
  chunkNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  tsconfig: `${ui}tsconfig.json`,
  metafile: true,
  logLevel: 'warning',
});

/** The hashed file name esbuild wrote for one entry point. */
function outputOf(entry: string): string {
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (output.entryPoint?.endsWith(entry)) return basename(file);
  }
  throw new Error(`esbuild wrote nothing for ${entry}`);
}

const template = await readFile(`${ui}index.html`, 'utf8');
const page = template
  .replace('%SCRIPT%', `/console/assets/${outputOf('main.tsx')}`)
  .replace('%STYLE%', `/console/assets/${outputOf('console.css')}`);
await writeFile(`${out}index.html`, page);
