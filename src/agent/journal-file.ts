import { renameSync } from 'node:fs';
import { basename } from 'node:path';
import { isRecord } from '../guards.js';
import { AgentError } from './identity.js';
import { Journal, JournalDamaged, type JournalOptions, journalPath } from './journal.js';
import { asideStamp, convertSqliteJournal } from './journal-convert.js';

export { asideStamp } from './journal-convert.js';

/** The error on one line. */
const reason = (error: unknown): string => {
  const { code, message }: { code?: unknown; message?: unknown } = isRecord(error) ? error : {};
  const text = typeof code === 'string' ? `${code}: ${String(message)}` : String(message ?? error);
  return text.replace(/\s+/g, ' ').trim();
};

/** Renames the journal to `journal.log.damaged-STAMP`. */
function setAside(path: string, nowMs: number): string {
  const aside = `${path}.damaged-${asideStamp(nowMs)}`;
  renameSync(path, aside);
  return aside;
}

/**
 * Opens the agent's journal. One that cannot be read stops the agent with what to do: its runs
 * and unsent results are lost with it, so starting afresh is the operator's call (`--reset-journal`),
 * never automatic. When told to, a damaged journal is kept aside (for a look, or a repair) and an
 * empty one started; a sound journal is always kept, so a reset flag left in a unit file is harmless.
 */
export function openJournal(
  stateDir: string,
  reset: boolean,
  say: (line: string) => void,
  options: JournalOptions = {},
): Journal {
  const path = journalPath(stateDir);
  convertSqliteJournal(stateDir, reset, say);
  try {
    return new Journal(stateDir, options);
  } catch (error) {
    if (!(error instanceof JournalDamaged))
      throw new AgentError(`cannot open the journal ${path} (${reason(error)})`);
    if (!reset) {
      throw new AgentError(
        `the journal ${path} is damaged (${reason(error)}). To keep it aside and start with an empty one, ` +
          'start the agent once with --reset-journal (or OPENASSIST_AGENT_RESET_JOURNAL=1); ' +
          'the agent then forgets the runs it held and the results it had not sent yet',
      );
    }
    const aside = setAside(path, Date.now());
    say(
      `the journal was damaged (${reason(error)}): kept aside as ${basename(aside)}; starting with an empty one`,
    );
    return new Journal(stateDir, options);
  }
}
