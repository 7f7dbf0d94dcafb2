// The traces `npm run fuzz:xen` minimized from real disagreements (test/fixtures/xen-disagreements/,
// real Xen 4.17's results as their expects): once the model is fixed, each holds on the model too,
// and stays as a regression.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay/replay.ts';
import { repo } from '../src/built.ts';

const DIR = join(repo, 'test/fixtures/xen-disagreements');
const quiet = { write: () => true };

describe("real Xen's answers hold on the model", () => {
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ndjson'))) {
    it(`${f}: every expectation holds`, async () => {
      const s = await replay(join(DIR, f), { out: quiet, err: quiet });
      expect(s.failed, f).toBe(0);
      expect(s.exit).toBe(0);
      expect(s.held).toBeGreaterThan(0);
    });
  }
});

describe('writable page tables (hypervisor/ptwr.ts): who gets the emulation', () => {
  const src = readFileSync(join(DIR, 'ptwr-write-emulated.ndjson'), 'utf8');
  const as = async (flag: string): Promise<number> => {
    const file = join(mkdtempSync(join(tmpdir(), 'ptwr-')), 't.ndjson');
    writeFileSync(file, src.replace('"hardware":true,', flag));
    return (await replay(file, { out: quiet, err: quiet })).failed;
  };
  it('a domU without the writable_pagetables VM assist takes the page fault (the access expects 0: fails)', async () => {
    expect(await as('')).toBe(1);
  });
  it('a domU with the VM assist is emulated as the hardware domain is', async () => {
    expect(await as('"writable_pagetables":true,')).toBe(0);
  });
});
