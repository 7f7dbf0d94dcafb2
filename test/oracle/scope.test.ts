// Differences with real Xen that are out of the comparison's scope (src/oracle/diff.ts outOfScope),
// each with the minimized trace fuzz:xen found it with (test/fixtures/xen-scope/, Xen's results as
// the expects): the model is not asked for the result of the last record, so nothing disagrees.
// Runs without Xen (on-xen.test.ts runs the same traces on real Xen with --compare).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runModel } from '../../src/oracle/diff.ts';
import { encodeSequence } from '../../src/oracle/encode.ts';
import { readTrace } from '../../src/trace/read.ts';
import type { TraceEntry } from '../../src/trace/types.ts';
import { repo } from '../src/built.ts';

export const SCOPE_DIR = join(repo, 'test/fixtures/xen-scope');

describe('out of the comparison with real Xen', () => {
  for (const f of readdirSync(SCOPE_DIR).filter((n) => n.endsWith('.ndjson'))) {
    it(`${f}: the model gives no result for its last record, and one for the others`, async () => {
      const entries: TraceEntry[] = [];
      for await (const e of readTrace(join(SCOPE_DIR, f))) entries.push(e);
      const enc = encodeSequence(entries, 0);
      const run = runModel(enc);
      expect(run.error).toBeUndefined();
      expect(run.results.at(-1)).toBeUndefined();
      expect(run.results.slice(1, -1).every((r) => r !== undefined)).toBe(true);
    });
  }
});
