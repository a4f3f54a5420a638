import { defineConfig } from 'vitest/config';

/**
 * The fast tier: every suite under src/ that starts no process and needs no PostgreSQL, and the
 * Grafana dashboard's check. Stores are in-memory SQLite, sockets and clocks are fakes. `npm run test:unit`; the whole suite
 * (`npm test`) runs these too, with the process-spawning suites.
 */
export default defineConfig({
  test: {
    // The Grafana dashboard's check reads a JSON file and builds the metrics registry: no process.
    include: ['src/**/*.test.ts', 'test/telemetry/dashboard.test.ts'],
    exclude: [
      // Real shells, real process groups, real child processes.
      'src/agent/runner.test.ts',
      'src/agent/runner-process-group.test.ts',
      'src/agent/executor.test.ts',
      'src/agent/self-upgrade.test.ts',
      'src/agent/state-lock.test.ts',
      // Real ptys, shells and TCP connections behind a session socket.
      'src/agent/terminal/shell-session.test.ts',
      'src/agent/terminal/port-forward.test.ts',
      // Both databases, PostgreSQL included, and migrations raced by separate processes.
      'src/store/store.contract.test.ts',
    ],
    testTimeout: 10_000,
    // One module graph for all files: the tier's time is mostly loading modules, not testing.
    // Forks, not threads: some suites set the umask or the working directory.
    pool: 'forks',
    isolate: false,
  },
});
