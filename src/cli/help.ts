// The help that teaches the command: `xensim --help`, `xensim help SUBCOMMAND` and `SUBCOMMAND
// --help` end with examples (drawn from examples/ and the built-in scenarios, listed from disk when
// the help is shown) and the exit statuses, which are the same for every subcommand. Light on
// purpose: no zod, no guest, no simulator — `replay` loads this module too.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { BUILTIN_DIR, builtinScenarios } from '../lab/scenarios/builtin.ts';
import { policyHelp } from '../lab/scenarios/policies.ts';

/** The exit statuses of every subcommand (README.md "Exit statuses" says the same). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;

export const EXIT_STATUS_HELP = `Exit status (every subcommand):
  0    done: every record ran and every expectation held; run, compare and explore printed
       a verdict (whatever the verdict: a deadlock found is an answer, not a failure)
  1    an expectation or an audit failed, or the model itself failed (a bug in xensim)
  2    bad input (the message names the file, the line and the field) or a usage error
  130  interrupted (Ctrl-C); 143 stopped by SIGTERM, 129 by SIGHUP (the log still ends
       with its end line)`;

/**
 * The package's root: two levels up from this file in the sources (src/cli/), one from the build
 * (dist/xensim.js and its chunks). examples/ and package.json are there.
 */
export const PACKAGE_ROOT = new URL(import.meta.url.endsWith('.ts') ? '../../' : '../', import.meta.url);

/** The repository's examples/ directory (next to src/ and dist/). */
export const EXAMPLES_DIR = fileURLToPath(new URL('examples/', PACKAGE_ROOT));

function table(rows: [string, string][], indent = '  '): string {
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`.trimEnd()).join('\n');
}

/** examples/*.ndjson with the first line of each one's header comment. */
export function exampleTraces(): [string, string][] {
  let files: string[];
  try {
    files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.ndjson')).sort();
  } catch {
    return [];
  }
  return files.map((f) => {
    const first = readFileSync(join(EXAMPLES_DIR, f), 'utf8').split('\n', 1)[0] ?? '';
    return [`examples/${f}`, first.startsWith('#') ? first.replace(/^#\s*/, '') : ''];
  });
}

/** The built-in scenarios with their titles. */
export function scenarioList(): [string, string][] {
  return builtinScenarios().map((name) => {
    try {
      const s = JSON.parse(readFileSync(join(BUILTIN_DIR, `${name}.json`), 'utf8')) as { title?: unknown };
      return [name, typeof s.title === 'string' ? s.title : ''];
    } catch {
      return [name, ''];
    }
  });
}

/** Each subcommand's examples: the command line, and what it shows. */
export const EXAMPLES: Record<string, [string, string][]> = {
  replay: [
    ['xensim replay examples/seed-alias-blocks-pin.ndjson', 'a lazy writable alias blocks a pin (the refusal is expected: exit 0)'],
    ['xensim replay examples/build-pin-4level.ndjson --audit', 'build and pin a 4-level tree, auditing every reference'],
    ['xensim replay examples/seed-alias-blocks-pin.ndjson --json', 'one JSON object per record'],
    ['xensim replay examples/seed-alias-blocks-pin.ndjson --log /tmp/seed.log', 'and the hypercall log, which replays as a trace'],
    ['xensim replay examples/build-pin-4level.ndjson --quiet --log /tmp/build.log', 'only what went wrong, and the summary (for long traces): the details are in the log'],
  ],
  run: [
    ['xensim run fork-pin-clean', 'fork pins a fresh mm: nothing in the way'],
    ['xensim run vmalloc-churn-then-fork --set xenCallsVmUnmapAliases=none', 'Xen refuses the pin and names the alias'],
    ['xensim run suspend-pin-all-irqs-off --policy never --log /tmp/run.log', 'then: xensim replay /tmp/run.log'],
    ['xensim run cross-vcpu-irqsoff-purge --policy force --json', 'the deadlock and its wait-for cycle, as JSON'],
  ],
  compare: [
    ['xensim compare', 'every scenario under force, if_needed, never and the default'],
    ['xensim compare --scenarios suspend-pin-all-irqs-off,cross-vcpu-irqsoff-purge --seeds 1..20', 'the seed patch\'s question, 20 seeds'],
    ['xensim compare --policy linux-2.6.28 --policy rfc-2008-12 --csv', 'two presets side by side, one CSV row per run'],
    ['xensim compare --scenarios fork-pin-clean --seeds 1..30 --workers 2 --json', 'on two threads: this one and a worker'],
    ['xensim compare --seeds 1..100000 --shard 3/16 > s3.ndjson', 'one of 16 shares of the runs (then: xensim merge)'],
  ],
  explore: [
    ['xensim explore cross-vcpu-irqsoff-purge --policy force', 'every interleaving; the shortest deadlock schedule'],
    ['xensim explore suspend-pin-all-irqs-off --policy never --json', 'the VA-reuse hazard NEVER leaves'],
    ['xensim explore auto-purge-trylock-race --policy default --set lazyFreeGap=true', 'the BUG_ON(nr > vmap_lazy_nr) of the lazy-free gap'],
    ['xensim explore cross-vcpu-irqsoff-purge --vcpus 3 --max-time 60', '3 vCPUs; past a minute: a partial result, "NOT EXHAUSTIVE"'],
    ['xensim run cross-vcpu-irqsoff-purge --policy force --schedule 0,1,…', 'replays a schedule explore printed'],
    ['xensim explore three-vcpu-irqsoff-purge --shard 2/3 > x2.json', 'one of 3 shares of the search (then: xensim merge)'],
  ],
  merge: [
    ['xensim compare --seeds 1..1000 --shard 1/2 > s1.ndjson', 'shard 1 of 2, on one machine…'],
    ['xensim compare --seeds 1..1000 --shard 2/2 > s2.ndjson', '…shard 2 of 2, on another'],
    ['xensim merge s1.ndjson s2.ndjson', 'the table `compare --seeds 1..1000` prints (or --json, --ndjson, --csv)'],
    ['xensim merge x1.json x2.json x3.json', 'explore\'s shards: the report one search prints (docs/scale-out.md)'],
  ],
  diff: [
    ['xensim diff --run suspend-pin-all-irqs-off --policy default --policy never', 'what NEVER changes: the IPI that goes, the VA hazard that comes'],
    ['xensim diff /tmp/a.log /tmp/b.log --json', 'two logs (replay --log, run --log), as JSON'],
  ],
  test: [
    ['xensim test examples src/lab/scenarios', 'every trace and scenario file: a line per case, a summary'],
    ['xensim test my-scenarios/ --reporter junit > report.xml', 'JUnit XML for Jenkins, GitLab, GitHub'],
  ],
  inspect: [
    ['xensim run suspend-pin-all-irqs-off --policy never --log /tmp/run.log', 'write a log, then read it:'],
    ['xensim inspect /tmp/run.log', 'the summary: hypercalls, refusals, flushes, IPIs, deadlocks'],
    ['xensim inspect /tmp/run.log --refused --format xen', 'the refusals as a Xen debug build prints them'],
    ['xensim inspect /tmp/run.log --vcpu 1 --format pretty', 'what vCPU 1 did and what was done to it'],
  ],
  export: [
    ['xensim run cross-vcpu-irqsoff-purge --policy force --log /tmp/run.log', 'write a log, then:'],
    ['xensim export /tmp/run.log --perfetto /tmp/run.json', 'open in ui.perfetto.dev or chrome://tracing'],
    ['xensim export /tmp/run.log --html /tmp/run.html', 'one self-contained page'],
  ],
};

function examplesText(name: string): string {
  const ex = EXAMPLES[name];
  return ex ? `Examples:\n${table(ex.map(([cmd, what]) => [`$ ${cmd}`, what ? `# ${what}` : '']))}` : '';
}

/** What follows a subcommand's own help. */
export function subcommandHelp(name: string): string {
  const parts = [examplesText(name)];
  if (name === 'replay') {
    const ex = exampleTraces();
    if (ex.length) parts.push(`Example traces (the format: docs/trace-extensions.md):\n${table(ex)}`);
  }
  if (name === 'run' || name === 'explore' || name === 'compare') {
    parts.push(`Built-in scenarios (or the path of a scenario .json file, e.g. a copy of one in src/lab/scenarios/):\n${table(scenarioList())}`);
    parts.push(`Policies (--policy): ${policyHelp()}.\n  e.g. --policy 'force,kernelFlushVia=hypercall_flush_all'`);
  }
  parts.push(EXIT_STATUS_HELP);
  return '\n' + parts.filter(Boolean).join('\n\n');
}

/** What follows `xensim --help`. */
export function programHelp(): string {
  const rows: [string, string][] = [
    ['xensim', 'the demo: a refused pin in Xen\'s terms, then the headline under each policy'],
    ...['replay', 'run', 'compare', 'explore'].map((n) => EXAMPLES[n]![0]!),
    ['xensim help run', 'run\'s options, examples, scenarios and policies'],
  ];
  const traces = exampleTraces().map(([f]) => basename(f));
  return [
    `Examples:\n${table(rows.map(([cmd, what]) => [`$ ${cmd}`, `# ${what}`]))}`,
    `Example traces in examples/: ${traces.join(', ') || '(none)'}; built-in scenarios: xensim help run.`,
    EXIT_STATUS_HELP,
  ].join('\n\n').replace(/^/, '\n');
}

/** Adds the examples and the exit statuses to `cmd`'s help. */
export function addHelp(cmd: Command): Command {
  return cmd.addHelpText('after', () => subcommandHelp(cmd.name()));
}
