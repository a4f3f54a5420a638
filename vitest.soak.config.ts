import { defineConfig } from 'vitest/config';

// `npm run test:soak`: the long runs (load, leaks, retention), one file at a time so they do not
// measure each other. OPENASSIST_SOAK=quick runs the short forms (CI).
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    maxWorkers: 1,
  },
});
