// Acceptance (issue 19): a rule of the model broken on purpose is caught by a small sample of real
// Xen's answers, without Xen. The break: GLOBAL is no longer refused in L2–L4 entries. It is
// planted through the module seam: vi.mock replaces hypervisor/pte.ts's LN_DISALLOW_MASK (the flags
// get_page_from_l{2,3,4}e and mod_l{2,3,4}_entry refuse, Xen's L{2,3,4}_DISALLOW_MASK) with one
// without _PAGE_GLOBAL, for every module of the model that imports it (the validation, the update
// path and the audit alike). The sample (test/fixtures/xen-sample/) then fails, naming the traces.
import { describe, expect, it, vi } from 'vitest';
import { replaySample } from './sample.ts';

vi.mock('../../hypervisor/pte.ts', async (importOriginal) => {
  const pte = await importOriginal<typeof import('../../hypervisor/pte.ts')>();
  return { ...pte, LN_DISALLOW_MASK: pte.LN_DISALLOW_MASK & ~pte._PAGE_GLOBAL };
});

describe('a deliberately broken rule (GLOBAL accepted in L2–L4 entries)', () => {
  it('is caught by the recorded sample: some trace fails, and says where', async () => {
    const pte = await import('../../hypervisor/pte.ts');
    expect(pte.LN_DISALLOW_MASK & pte._PAGE_GLOBAL).toBe(0); // the break is in place
    const r = await replaySample();
    console.log(`[sample-broken-rule] ${r.failed.length} expectations of real Xen fail on the broken model:\n  ${r.failed.join('\n  ')}`);
    expect(r.failed.length).toBeGreaterThan(0);
    expect(r.failed[0]).toMatch(/^seed-\d+\.ndjson line \d+: /);
  }, 60_000);
});
