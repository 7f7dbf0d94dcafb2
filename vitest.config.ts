import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The hypervisor is synchronous and CPU-bound: two forks match the machine's two cores.
    pool: 'forks',
    testTimeout: 60_000,
  },
});
