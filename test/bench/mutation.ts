// The mutation score of hypervisor/ (issue 15) in the bench record: read from the committed summary
// test/mutate/score.json (written by `node test/mutate/score.mjs` from the kept Stryker runs,
// docs/mutation.md). The bench never runs Stryker: a run takes hours on a small machine.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Figure } from './report.ts';

interface Tally {
  mutants: number;
  tested: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  score: number | null;
  scoreCovered: number | null;
}

interface Score {
  generated: string;
  commit: string;
  total: Tally;
  files: Record<string, Tally>;
  notRun: string[];
  runs: { label: string }[];
}

const SECTION = 'Mutation score (hypervisor/)';

function counts(t: Tally): string {
  const cut = t.tested < t.mutants ? ` of ${t.mutants} (${t.mutants - t.tested} not reached)` : '';
  return `${t.tested} mutants tested${cut}: ${t.killed} killed, ${t.timeout} timeout, ${t.survived} survived, ${t.noCoverage} no coverage`;
}

export function mutationScore(path = fileURLToPath(new URL('../mutate/score.json', import.meta.url))): Figure[] {
  if (!existsSync(path)) {
    return [{ id: 'mutation.total', section: SECTION, what: 'hypervisor/ (Stryker score)', value: NaN, unit: '%', note: 'no test/mutate/score.json: run `npm run mutate`, then `node test/mutate/score.mjs`' }];
  }
  const s = JSON.parse(readFileSync(path, 'utf8')) as Score;
  const t = s.total;
  const figures: Figure[] = [
    {
      id: 'mutation.total',
      section: SECTION,
      what: 'hypervisor/, Stryker score (no coverage = survived)',
      value: t.score ?? NaN,
      unit: '%',
      note: `${counts(t)}; ${s.runs.length} Stryker runs, summary of ${s.generated.slice(0, 16).replace('T', ' ')} UTC at ${s.commit.slice(0, 7)}; not run: ${s.notRun.join(', ') || 'none'}`,
    },
    { id: 'mutation.covered', section: SECTION, what: 'hypervisor/, score of covered mutants', value: t.scoreCovered ?? NaN, unit: '%' },
  ];
  for (const [file, f] of Object.entries(s.files)) {
    const name = file.replace(/^hypervisor\//, '');
    figures.push({ id: `mutation.${name.replace(/\.ts$/, '')}`, section: SECTION, what: name, value: f.score ?? NaN, unit: '%', note: counts(f) });
  }
  return figures;
}
