// The sample of generated traces recorded once on real Xen 4.17 (test/fixtures/xen-sample/, written
// by `npm run fuzz:xen -- --sample DIR`; every expect is Xen's result), replayed on the model
// without Xen: which traces fail, and the expectations that failed.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { replay } from '../../src/replay/replay.ts';
import { repo } from '../src/built.ts';

export const SAMPLE_DIR = join(repo, 'test/fixtures/xen-sample');

export interface SampleRun {
  traces: number;
  held: number;
  /** "FILE line N" for every expectation that failed. */
  failed: string[];
}

export async function replaySample(): Promise<SampleRun> {
  const files = readdirSync(SAMPLE_DIR).filter((n) => n.endsWith('.ndjson')).sort();
  const run: SampleRun = { traces: files.length, held: 0, failed: [] };
  for (const f of files) {
    let text = '';
    const s = await replay(join(SAMPLE_DIR, f), { out: { write: (x: string) => ((text += x), true) }, err: { write: () => true } });
    run.held += s.held;
    for (const m of text.matchAll(/^line (\d+)\s+(.*)\n\s+EXPECT FAILED: (.*)$/gm)) run.failed.push(`${f} line ${m[1]}: ${m[2]!.trim()} — ${m[3]}`);
    if (s.failed > 0 && !run.failed.some((x) => x.startsWith(f))) run.failed.push(`${f}: ${s.failed} expectations failed`);
  }
  return run;
}
