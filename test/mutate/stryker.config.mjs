// `npm run mutate`: mutation testing of the simulated Xen (issue 15) — does a deliberately broken
// rule make a test fail? StrykerJS mutates hypervisor/ (the type lifecycle, the entry rules, every
// hypercall) and runs the tests that cover each mutant (test/mutate/vitest.config.ts). A surviving
// mutant is a rule no test pins down: it gets a test, or a note in docs/mutation.md saying why it
// is equivalent. `npm run mutate -- --mutate hypervisor/page-type.ts` narrows the run; the budget
// (one runner per core, a timeout per mutant) keeps a whole run within an hour on 2 cores.
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  // Relative: Stryker runs vitest inside its sandbox copy of the repository.
  vitest: { configFile: 'test/mutate/vitest.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: ['hypervisor/**/*.ts', '!hypervisor/types.ts', '!hypervisor/abi.ts'],
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 20_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
