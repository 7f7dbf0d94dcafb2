// xensim diff (src/diff/): two runs of a scenario under two policies, a log with itself, bad input.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffLogs, diffText, DiffInputError } from '../../src/diff/diff.ts';
import { diffRuns } from '../../src/diff/runs.ts';
import { runScenario } from '../../src/lab/run.ts';
import { loadScenario } from '../../src/lab/scenarios/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-diff-'));

/** The simulated time of the first line of a log with this event. */
function timeOf(log: string, event: string): number {
  const line = readFileSync(log, 'utf8').split('\n').find((l) => l.includes(`"event":"${event}"`))!;
  return (JSON.parse(line) as { time: number }).time;
}

describe('xensim diff', () => {
  it('default vs never: the IPI that disappears and the VA hazard that appears, at their simulated times', async () => {
    const logs = ['default', 'never'].map((policy) => {
      const log = join(dir, `${policy}.log`);
      runScenario(loadScenario('suspend-pin-all-irqs-off'), { policy, log });
      return log;
    });
    const r = await diffRuns({ scenario: 'suspend-pin-all-irqs-off', policies: ['default', 'never'] });
    expect(r.same).toBe(false);
    const ipis = r.kinds.find((k) => k.name === 'IPIs')!;
    expect(ipis.gone.map((i) => i.time)).toEqual([timeOf(logs[0]!, 'ipi_send')]);
    expect(ipis.added).toEqual([]);
    const hazards = r.kinds.find((k) => k.name === 'VA hazards')!;
    expect(hazards.added.map((i) => i.time)).toEqual([timeOf(logs[1]!, 'va_hazard')]);
    expect(hazards.gone).toEqual([]);
    // the first divergence: the alias kill at pgd_pin, flushing under default and not under never
    expect(r.first!.a!.what).toContain('flush=if_needed');
    expect(r.first!.b!.what).toContain('flush=never');
    const text = diffText(r);
    expect(text).toContain(`- time ${ipis.gone[0]!.time}: ipi_send`);
    expect(text).toContain(`+ time ${hazards.added[0]!.time}: va_hazard`);
    expect(text).toContain('end           deadlock → completed   differs');
  });

  it('a log with itself: no difference', async () => {
    const log = join(dir, 'self.log');
    runScenario(loadScenario('suspend-pin-all-irqs-off'), { log });
    const r = await diffLogs(log, log);
    expect(r.same).toBe(true);
    expect(r.first).toBeUndefined();
    expect(r.kinds.every((k) => k.gone.length === 0 && k.added.length === 0)).toBe(true);
    expect(diffText(r)).toContain('no difference');
  });

  it('a refused rc changed in one copy: the record is the first divergence', async () => {
    const log = join(dir, 'nfs.log');
    runScenario(loadScenario('nfs-readdir-2.6.36'), { log });
    const text = readFileSync(log, 'utf8');
    const other = join(dir, 'nfs-edited.log');
    writeFileSync(other, text.replace('"result":{"rc":-22', '"result":{"rc":0'));
    const r = await diffLogs(log, other);
    expect(r.first!.a!.came).toContain('"rc":-22');
    expect(r.first!.b!.came).toContain('"rc":0');
    expect(r.first!.a!.line).toBe(text.split('\n').findIndex((l) => l.includes('"result":{"rc":-22')) + 1);
  });

  it('a trace is not a log: exit-2 error with the command that makes one', async () => {
    const trace = join(dir, 't.ndjson');
    writeFileSync(trace, '{"op":"audit"}\n');
    await expect(diffLogs(trace, trace)).rejects.toThrow(DiffInputError);
    await expect(diffLogs(trace, trace)).rejects.toThrow(/a trace\? Make its log with: xensim replay/);
  });
});
