// `npm run mutate:guest`: mutation testing of the guest's pin paths (issue 15) — xen_pgd_pin and
// its alias kill, __vm_unmap_aliases / vm_unmap_aliases and __purge_vmap_area_lazy with the
// PURGE_FLUSH_* policy. Each mutant runs the guest's tests that cover it, against the real
// simulated Xen (test/mutate/vitest.guest.config.ts). Results as in stryker.config.mjs, under
// reports/mutation-guest/.
import base from './stryker.config.mjs';

export default {
  ...base,
  vitest: { configFile: 'test/mutate/vitest.guest.config.ts', related: false },
  mutate: [
    'guest/xen-mmu/pin.ts',
    'guest/xen-mmu/alias-kill.ts',
    'guest/vmalloc/unmap-aliases.ts',
    'guest/vmalloc/purge.ts',
  ],
  eventReporter: { baseDir: 'reports/mutation-guest/events' },
  jsonReporter: { fileName: 'reports/mutation-guest/mutation.json' },
  tempDirName: '.stryker-tmp-guest',
};
