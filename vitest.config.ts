import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites start real server processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    // Fail the run when a process a test started outlives it; give the run an empty home (the
    // login shells of terminal sessions read no dotfiles of the machine's user).
    globalSetup: ['test/setup/child-leaks.ts', 'test/setup/clean-home.ts'],
  },
});
