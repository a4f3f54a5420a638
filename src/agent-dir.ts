import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * dist/agent of this package, where `npm run build` puts the executables (this file runs from src/
 * or dist/src/). Server-only: the agent's executable is bundled as CommonJS, where import.meta is empty.
 */
export function packageAgentDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = basename(dirname(here)) === 'dist' ? resolve(here, '../..') : resolve(here, '..');
  return join(root, 'dist', 'agent');
}
