import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskSpec } from '../src/protocol/messages.js';
import { summary } from './stats.js';

// Accept latency of the agent's journal: one `accept` is a record written and synced to the disk
// (fdatasync) before the run may start. Usage: node dist/bench/journal-accept.js [OTHER_JOURNAL_JS]
// measures this build's journal, and another build's journal.js beside it (an older agent's).

interface AcceptingJournal {
  accept(task: TaskSpec, run: { invokeId: string; execution: number }, nowMs: number): unknown;
  close(): void;
}
type JournalClass = new (stateDir: string) => AcceptingJournal;

const accepts = 500;

function measure(Journal: JournalClass) {
  const dir = mkdtempSync(join(tmpdir(), 'openassist-bench-journal-'));
  try {
    const journal = new Journal(dir);
    const times: number[] = [];
    for (let n = 0; n < accepts; n++) {
      const invokeId = `t-${n}`;
      const task: TaskSpec = {
        invokeId,
        commandType: 'RunShellScript',
        script: `echo run ${n}; uname -a; df -h`,
        username: '',
        workingDir: '',
        timeoutSeconds: 60,
        terminationMode: 'ProcessTree',
      };
      const started = performance.now();
      journal.accept(task, { invokeId, execution: 0 }, Date.now());
      times.push(performance.now() - started);
    }
    journal.close();
    return summary(times);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const own = (await import('../src/agent/journal.js')).Journal as unknown as JournalClass;
console.log(`this journal: ${accepts} accepts, ms ${JSON.stringify(measure(own))}`);
const other = process.argv[2];
if (other) {
  const Journal = (await import(pathToFileURL(other).href)).Journal as JournalClass;
  console.log(`${other}: ${accepts} accepts, ms ${JSON.stringify(measure(Journal))}`);
}
