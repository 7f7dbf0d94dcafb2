// The tests Stryker runs against each mutant of the guest's pin paths: the guest's own tests (a
// refused pin, the WARN, the deadlock, the seed patch's table) and every scenario under every
// policy (test/src/scenarios.test.ts), all against the real simulated Xen.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: process.cwd(),
    include: ['test/guest/**/*.test.ts', 'test/src/scenarios.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
  },
});
