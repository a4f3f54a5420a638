import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentRelease } from '../domain/agent-upgrade.js';

/** The executable's name for an architecture, as `npm run build` writes it and `/agent/download/` serves it. */
export const agentExecutableName = (arch: string): string => `openassist-agent-linux-${arch}`;
/** Where an agent downloads a file the server serves. */
export const agentDownloadPath = (file: string): string => `/agent/download/${file}`;

// `process.arch` values are short lower-case words (x64, arm64, ppc64, s390x): anything else an
// agent claims never reaches a file name.
const archPattern = /^[a-z0-9_]{1,16}$/;
// A sha256sum line: the hex digest, then the file name.
const sha256Line = /^([0-9a-f]{64})\s/;

interface Cached {
  readonly stamp: string;
  readonly release: AgentRelease | undefined;
}

/**
 * The agent executables in the server's agent directory, as upgrade offers need them: file, size and
 * sha256 (from the `.sha256` file written beside the executable). They are the server's own build,
 * so their version is the server's. Each lookup costs two `stat` calls; the digest file is read again
 * only when one of the files changed (an operator replacing them needs no restart).
 */
export class AgentReleases {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly dir: string,
    private readonly version: string,
  ) {}

  async forArch(arch: string): Promise<AgentRelease | undefined> {
    if (!archPattern.test(arch)) return undefined;
    const file = agentExecutableName(arch);
    const [executable, digest] = await Promise.all(
      [file, `${file}.sha256`].map((name) => stat(join(this.dir, name)).catch(() => undefined)),
    );
    if (!executable?.isFile() || !digest?.isFile()) return undefined;
    const stamp = `${executable.mtimeMs}/${executable.size}/${digest.mtimeMs}/${digest.size}`;
    const cached = this.cache.get(arch);
    if (cached?.stamp === stamp) return cached.release;
    const text = await readFile(join(this.dir, `${file}.sha256`), 'utf8').catch(() => '');
    const sha256 = sha256Line.exec(`${text.trim()} `)?.[1];
    const release = sha256 ? { version: this.version, file, sha256, sizeBytes: executable.size } : undefined;
    this.cache.set(arch, { stamp, release });
    return release;
  }
}
