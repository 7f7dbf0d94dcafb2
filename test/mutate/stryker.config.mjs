// `npm run mutate`: mutation testing of the simulated Xen (issue 15) — does a deliberately broken
// rule make a test fail? StrykerJS mutates hypervisor/ (the type lifecycle, the entry rules, every
// hypercall) and runs the tests that cover each mutant (test/mutate/vitest.config.ts). A surviving
// mutant is a rule no test pins down: it gets a test, or a note in docs/mutation.md saying why it
// is equivalent. `npm run mutate -- --mutate hypervisor/page-type.ts:120-260` narrows the run (a
// file, or lines of it): on a shared 2-core machine Stryker tests 7–12 mutants a minute, after a
// minute or two of set-up. Each result is also written as it comes (reports/mutation/events/), so
// a run cut short still says which mutants it tested and how they fared.
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
  // Generous: on a loaded machine a niced runner can stall for tens of seconds, and a stall taken
  // for a hang would count as a kill. A real endless loop in hypervisor/ ends sooner, by the hit
  // limit (Stryker counts the instrumented code run: "Hit limit reached").
  timeoutMS: 60_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'json', 'event-recorder'],
  eventReporter: { baseDir: 'reports/mutation/events' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  // Not copied into the sandbox: earlier reports (and their event files) are no input, nor is the
  // git-ignored real-Xen image (a symlink to a directory, which Stryker cannot copy).
  ignorePatterns: ['reports', 'oracle/.xen', 'oracle/build'],
  cleanTempDir: 'always',
};
