// `npm run build` (also run by `npm ci`/`npm install` through `prepare`): bundles the `xensim`
// command into dist/ with esbuild, so `npx xensim …` runs plain JavaScript, without tsx.
//
//   dist/xensim.js          src/cli/program.ts, the bin: commander, the CLI and what every subcommand needs
//   dist/compare-worker.js  src/lab/compare-worker.ts, the thread `compare --workers N` starts
//                           (compare.ts looks for ./compare-worker.js next to its own file)
//   dist/test-worker.js     src/testrun/worker.ts, a thread of `xensim test` (pool.ts)
//   dist/chunk-*.js         code split out of both: what only some subcommands need (replay, the
//                           guest and xstate, zod, cli-progress) loads when its action import()s it
//   dist/scenarios/*.json   the built-in scenarios (lab/scenarios/builtin.ts finds them here when built)
//   oracle/build/xensim-oracle  the oracle's dom0 kernel (make, when gcc is present)
//
// Dependencies are bundled too (one file read instead of dozens from node_modules). They are
// CommonJS in part, so each output file gets a `require` made with createRequire: esbuild's
// require shim calls it for Node built-ins. Usage: node src/build.mjs [OUTDIR] [--metafile]
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const outdir = resolve(args.find((a) => !a.startsWith('--')) ?? join(repo, 'dist'));

// Only a previous build (or nothing) is removed: a mistyped OUTDIR must not wipe a directory.
if (existsSync(outdir) && readdirSync(outdir).length > 0 && !existsSync(join(outdir, 'xensim.js'))) {
  console.error(`build: ${outdir} is not empty and holds no previous build (xensim.js); not overwriting it`);
  process.exit(2);
}
rmSync(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: repo,
  entryPoints: { xensim: 'src/cli/program.ts', 'compare-worker': 'src/lab/compare-worker.ts', 'test-worker': 'src/testrun/worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Packages without "exports" (jsonc-parser) are taken in their ESM build: its UMD build requires
  // its own files at run time, which a bundle does not have.
  mainFields: ['module', 'main'],
  // "type": "module": .js is ESM; compare.ts starts ./compare-worker.js.
  outExtension: { '.js': '.js' },
  banner: { js: "import { createRequire as __xensimRequire } from 'node:module'; const require = __xensimRequire(import.meta.url);" },
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
mkdirSync(join(outdir, 'scenarios'), { recursive: true });
const scenarios = join(repo, 'src/lab/scenarios');
for (const f of readdirSync(scenarios)) if (f.endsWith('.json')) cpSync(join(scenarios, f), join(outdir, 'scenarios', f));
// The bin: src/cli/program.ts's #! line is kept at the top of dist/xensim.js.
chmodSync(join(outdir, 'xensim.js'), 0o755);
if (args.includes('--metafile')) writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));

// The oracle's dom0 test kernel (oracle/, C and assembly; `xensim replay --on xen`): built with the
// host's gcc and make when they are there, skipped with a message when not (nothing else needs it).
const oracle = join(repo, 'oracle');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
if (!existsSync(join(oracle, 'Makefile'))) {
  // A package without the oracle's sources.
} else if (!has('make') || !has('gcc')) {
  console.error('build: gcc or make not found: the oracle kernel (oracle/, for `xensim replay --on xen`) is not built');
} else {
  const make = spawnSync('make', ['-s', '-C', oracle], { encoding: 'utf8' });
  if (make.status !== 0) console.error(`build: the oracle kernel (oracle/) did not build; \`replay --on xen\` needs it:\n${make.stderr}`);
}
