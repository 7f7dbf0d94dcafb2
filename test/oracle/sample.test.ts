// Runs without Xen: the sample of generated traces whose expects are real Xen 4.17's results
// (test/fixtures/xen-sample/) holds on the model, every expectation. Its partner,
// sample-broken-rule.test.ts, shows the same sample catches a rule broken on purpose.
import { describe, expect, it } from 'vitest';
import { replaySample } from './sample.ts';

describe("the recorded sample of real Xen's results", () => {
  it('holds on the model, every expectation of every trace', async () => {
    const r = await replaySample();
    expect(r.traces).toBe(20);
    expect(r.failed).toEqual([]);
    expect(r.held).toBeGreaterThan(r.traces * 40);
  }, 60_000);
});
