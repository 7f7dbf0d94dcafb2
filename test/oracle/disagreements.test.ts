// The traces `npm run fuzz:xen` minimized from real disagreements (test/fixtures/xen-disagreements/,
// real Xen 4.17's results as their expects): once the model is fixed, each holds on the model too,
// and stays as a regression. The one that is not a model bug (the oracle's dom0 gets ptwr
// emulation, src/oracle/known.ts) is the exception, and must still differ.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay/replay.ts';
import { repo } from '../src/built.ts';

const DIR = join(repo, 'test/fixtures/xen-disagreements');
const quiet = { write: () => true };

describe("real Xen's answers hold on the model", () => {
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ndjson'))) {
    const ptwr = f === 'ptwr-write-emulated.ndjson';
    it(`${f}: ${ptwr ? 'differs (hardware-domain ptwr emulation, out of scope)' : 'every expectation holds'}`, async () => {
      const s = await replay(join(DIR, f), { out: quiet, err: quiet });
      if (ptwr) {
        expect(s.failed).toBeGreaterThan(0);
      } else {
        expect(s.failed, f).toBe(0);
        expect(s.exit).toBe(0);
        expect(s.held).toBeGreaterThan(0);
      }
    });
  }
});
