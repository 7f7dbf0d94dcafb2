// `node test/mutate/survivors.mjs [dir]`: the mutants a Stryker run has tested so far, from the
// event recorder's files (reports/mutation/events/ by default), even if the run was cut short:
// counts by status, then each survivor or uncovered mutant as file:line:column, mutator, replacement.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dir = process.argv[2] ?? 'reports/mutation/events';
const counts = new Map();
for (const name of readdirSync(dir).filter((n) => n.endsWith('-onMutantTested.json')).sort()) {
  const m = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  counts.set(m.status, (counts.get(m.status) ?? 0) + 1);
  if (m.status === 'Survived' || m.status === 'NoCoverage') {
    const { line, column } = m.location.start;
    console.log(`${m.status}\t${relative(process.cwd(), m.fileName)}:${line}:${column}\t${m.mutatorName}\t${JSON.stringify(m.replacement ?? '')}`);
  }
}
console.log(Object.fromEntries(counts));
