import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `STATE_DIR/status`: one line saying what the agent is doing, for a supervisor or an installer
 * that cannot read its stdout (install.sh waits on it under systemd):
 * `connected mi-…` once the channel is open, `stopped` when it stops, `failed <why>` when it
 * cannot register. Written whole (temp + rename), so a reader never sees half a line.
 */
export type AgentStatus =
  | { readonly state: 'connected'; readonly instanceId: string }
  | { readonly state: 'stopped' }
  | { readonly state: 'failed'; readonly reason: string };

export const statusFileName = 'status';

const lineOf = (status: AgentStatus): string => {
  switch (status.state) {
    case 'connected':
      return `connected ${status.instanceId}`;
    case 'stopped':
      return 'stopped';
    case 'failed':
      // One line: the reader takes the first.
      return `failed ${status.reason.replace(/\s+/g, ' ').slice(0, 1024)}`;
  }
};

/** Best effort: a status that cannot be written (a full disk) must not stop the agent. */
export function writeStatus(stateDir: string, status: AgentStatus): void {
  const file = join(stateDir, statusFileName);
  try {
    writeFileSync(`${file}.tmp`, `${lineOf(status)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch {
    // the agent goes on; an installer waiting on it times out and says where to look
  }
}
