// Real Xen 4.17 under QEMU (src/oracle/, docs/oracle.md). Skips, saying so, where scripts/get-xen
// has not been run (no Xen image or no qemu-system-x86_64) or the oracle kernel cannot be built.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeSequence } from '../../src/oracle/encode.ts';
import { generated, encodeMappable } from '../../src/oracle/fuzz-lib.ts';
import { diffSequence, runModel } from '../../src/oracle/diff.ts';
import { replayOnXen, runSequences } from '../../src/oracle/on-xen.ts';
import { findXen } from '../../src/oracle/qemu.ts';
import { parseLine } from '../../src/trace/read.ts';
import type { TraceEntry } from '../../src/trace/types.ts';
import { isKnown } from '../../src/oracle/known.ts';

const setup = findXen();
const missing = typeof setup === 'string' ? setup : undefined;
if (missing !== undefined) process.stderr.write(`on-xen.test.ts: SKIPPED — ${missing}\n`);

function trace(...lines: string[]): TraceEntry[] {
  return lines.map((l, i) => ({ line: i + 1, record: parseLine(l, 't.ndjson', i + 1)! }));
}

async function replayText(path: string, compare = false): Promise<{ exit: number; text: string }> {
  let text = '';
  const sink = { write: (s: string) => (text += s) };
  const exit = await replayOnXen(path, { compare, out: sink, err: sink });
  return { exit, text };
}

// Each boot of QEMU takes seconds (more when the suite's other files share the cores).
const SLOW = 240_000;

describe.skipIf(missing !== undefined)('real Xen 4.17 (QEMU)', () => {
  it('refuses the pin of a frame a lazy alias maps writable (examples/seed-alias-blocks-pin.ndjson)', async () => {
    const { exit, text } = await replayText('examples/seed-alias-blocks-pin.ndjson', true);
    expect(text).toMatch(/line 32 +mmuext_op pin_l1_table 0x1011 +-22 +\[as expected\]/);
    expect(text).toMatch(/line 42 +mmuext_op pin_l1_table 0x1011 +OK/);
    expect(text).toContain('compared with the model: 0 disagreements');
    expect(exit).toBe(0);
  }, SLOW);

  it('holds every expectation it can see of the examples and of the disagreement traces', async () => {
    const dirs = ['examples', 'test/fixtures/xen-disagreements'];
    for (const f of dirs.flatMap((d) => readdirSync(d).filter((n) => n.endsWith('.ndjson')).map((n) => `${d}/${n}`))) {
      const { exit, text } = await replayText(f);
      expect(text, f).toMatch(/expectations: \d+ held, 0 failed/);
      expect(exit, f).toBe(0);
    }
  }, SLOW);

  it('agrees with the model on the traces of differences out of scope (test/fixtures/xen-scope/)', async () => {
    for (const f of readdirSync('test/fixtures/xen-scope').filter((n) => n.endsWith('.ndjson'))) {
      const { exit, text } = await replayText(`test/fixtures/xen-scope/${f}`, true);
      expect(text, f).toContain('compared with the model: 0 disagreements');
      expect(exit, f).toBe(0);
    }
  }, SLOW);

  it('takes dom0\'s I/O rights away: a cache attribute in an L1 entry is refused unless the trace is privileged', async () => {
    const body = [
      '{"op":"store","mfn":"0x1001","slot":3,"val":"0x1002073"}',
      '{"op":"mmuext_op","ops":[{"cmd":"pin_l1_table","mfn":"0x1001"}]}',
    ];
    const dom = '{"op":"create_domain","domid":1,"vcpus":1,"frames":{"base":"0x1000","count":8}}';
    const priv = encodeSequence(trace(dom.replace('"vcpus":1', '"vcpus":1,"privileged":true'), ...body), 0);
    const domU = encodeSequence(trace(dom, ...body), 1);
    const [p, u] = await runSequences([priv, domU]);
    expect(p!.results[2]).toMatchObject({ rc: 0, done: 1 });
    expect(u!.results[2]).toMatchObject({ rc: -22, done: 0 });
  }, SLOW);

  it('agrees with the model on a sample of generated traces, but for the known model bugs', async () => {
    const cases = Array.from({ length: 12 }, (_, i) => encodeMappable(generated(1000 + i, 50), i));
    const runs = await runSequences(cases.map((c) => c.enc));
    const unknown = cases.flatMap((c, i) =>
      diffSequence(c.enc, runModel(c.enc), runs[i]!).filter((d) => !d.hardware && !isKnown(`${d.what}: model ${d.model}, xen ${d.xen}`)),
    );
    expect(unknown).toEqual([]);
  }, SLOW);
});
