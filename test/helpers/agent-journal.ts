import { readJournalState } from '../../src/agent/journal.js';

/** What a real agent's journal (STATE_DIR/journal.log) says, read beside the running agent. */
export interface JournalState {
  /** Events the server has not acknowledged yet. */
  readonly unacknowledged: number;
  /** Runs accepted or running: the agent has not settled them. */
  readonly unfinished: number;
  /** `finished` events of one task not acknowledged yet (a result produced while cut off). */
  readonly pendingFinished: (invokeId: string) => number;
  /** `finished` events of a schedule's runs (execution ≥ 1) not acknowledged yet. */
  readonly pendingScheduledFinished: (invokeId: string) => number;
}

/** Replays the journal file for one look (a record being appended is left out); the agent keeps writing meanwhile. */
export function readJournal(stateDir: string): JournalState {
  const state = readJournalState(stateDir);
  const events = [...state.events.values()];
  return {
    unacknowledged: events.length,
    unfinished: state.runs.size,
    pendingFinished: (invokeId) =>
      events.filter((event) => event.invokeId === invokeId && event.kind === 'finished').length,
    pendingScheduledFinished: (invokeId) =>
      events.filter(
        (event) => event.invokeId === invokeId && event.execution > 0 && event.kind === 'finished',
      ).length,
  };
}

/**
 * True once the agent has settled everything in its journal: no run left accepted or running and
 * every event acknowledged by the server. A re-run would show up here as a run or an event.
 */
export function journalSettled(stateDir: string): true | undefined {
  const state = readJournal(stateDir);
  return state.unacknowledged === 0 && state.unfinished === 0 ? true : undefined;
}
