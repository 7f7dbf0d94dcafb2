// `node test/mutate/keep-run.mjs LABEL "MUTATE" START_ISO [HASHES.json]`: keeps a Stryker run's event files
// (reports/mutation/events/, which the next run clears) as reports/mutation/runs/LABEL/, with what
// score.mjs needs to trust them: the --mutate argument, when it ran, the commit, and the git blob
// hash of each hypervisor/ file as it stood (a result counts only while its file is unchanged):
// now, or as `node test/mutate/keep-run.mjs --hashes > FILE` saved them when the run started (if
// the files changed while it ran: Stryker tests its own copy, made at the start).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const git = (...a) => execFileSync('git', a, { encoding: 'utf8' }).trim();
function hashesNow() {
  const files = readdirSync('hypervisor').filter((n) => n.endsWith('.ts')).map((n) => `hypervisor/${n}`);
  return Object.fromEntries(files.map((p) => [p, git('hash-object', p)]));
}
if (process.argv[2] === '--hashes') {
  console.log(JSON.stringify({ commit: git('rev-parse', 'HEAD'), hashes: hashesNow() }));
  process.exit(0);
}
const [label, mutate, start, saved] = process.argv.slice(2);
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
const { commit, hashes } = saved ? JSON.parse(readFileSync(saved, 'utf8')) : { commit: git('rev-parse', 'HEAD'), hashes: hashesNow() };
const meta = { label, mutate, start, end: new Date().toISOString(), commit, hashes };
writeFileSync(join(to, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
console.log(`kept ${to}`);
