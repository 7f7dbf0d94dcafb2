// `node test/mutate/keep-run.mjs LABEL "MUTATE" START_ISO`: keeps a Stryker run's event files
// (reports/mutation/events/, which the next run clears) as reports/mutation/runs/LABEL/, with what
// score.mjs needs to trust them: the --mutate argument, when it ran, the commit, and the git blob
// hash of each hypervisor/ file as it stood (a result counts only while its file is unchanged).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [label, mutate, start] = process.argv.slice(2);
if (!label || !mutate || !start) {
  console.error('usage: node test/mutate/keep-run.mjs LABEL "MUTATE" START_ISO');
  process.exit(2);
}
const to = join('reports/mutation/runs', label);
if (existsSync(to)) {
  console.error(`keep-run: ${to} exists already`);
  process.exit(2);
}
cpSync('reports/mutation/events', to, { recursive: true });
const git = (...a) => execFileSync('git', a, { encoding: 'utf8' }).trim();
const files = readdirSync('hypervisor').filter((n) => n.endsWith('.ts')).map((n) => `hypervisor/${n}`);
const hashes = Object.fromEntries(files.map((p) => [p, git('hash-object', p)]));
const meta = { label, mutate, start, end: new Date().toISOString(), commit: git('rev-parse', 'HEAD'), hashes };
writeFileSync(join(to, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
console.log(`kept ${to}`);
