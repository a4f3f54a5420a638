import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package's root directory and version, found once (package.json is two levels above both src/ and dist/src/). */
const found: { root: string; version: string } = (() => {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const url = new URL(path, import.meta.url);
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'openassist' && pkg.version) {
        return { root: fileURLToPath(new URL('.', url)), version: pkg.version };
      }
    } catch {
      // try the next candidate
    }
  }
  return { root: process.cwd(), version: '0.0.0' };
})();

export const version: string = found.version;
/** The directory holding package.json (its working directory when none is found). */
export const packageRoot: string = found.root;
