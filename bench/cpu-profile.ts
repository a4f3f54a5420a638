/**
 * Loaded into a server process with `node --import` (bench only; NODE_OPTIONS refuses --cpu-prof):
 * profiles the main thread from start to exit and writes a `.cpuprofile` into
 * OPENASSIST_BENCH_CPU_PROF.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.OPENASSIST_BENCH_CPU_PROF;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // A session on the main thread answers synchronously, so the profile is written before exit.
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error)
        writeFileSync(join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
