import { readFileSync } from 'node:fs';
import { isRecord } from './guards.js';

/** The package version, read once from package.json (two levels above both src/ and dist/src/). */
export const version: string = (() => {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
      if (isRecord(pkg) && pkg.name === 'openassist' && typeof pkg.version === 'string' && pkg.version)
        return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
})();
