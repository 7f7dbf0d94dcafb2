// The tests Stryker runs against each mutant of hypervisor/: the hypervisor's own unit tests, each
// of which names the rule it checks. Each mutant runs only the tests that cover it (Stryker's
// per-test coverage). The property tests and the 100,000-record trace are left out: a mutant
// would cost minutes with them (measured: ~4 min a mutant on 2 cores), and a rule that only they
// pin down deserves a unit test of its own.
import { defineConfig } from 'vitest/config';
import CheapFirst from './sequencer.ts';

export default defineConfig({
  test: {
    // The working directory: Stryker runs this in its sandbox copy, whose sources it mutated.
    root: process.cwd(),
    include: ['test/hypervisor/**/*.test.ts'],
    exclude: ['test/hypervisor/trace-fuzz.test.ts'],
    pool: 'forks',
    sequence: { sequencer: CheapFirst },
    isolate: false,
    testTimeout: 60_000,
  },
});
