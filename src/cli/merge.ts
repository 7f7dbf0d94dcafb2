// `xensim merge FILES…`: the outputs of `compare --shard K/N` (--ndjson or --json) or of
// `explore --shard K/N`, one file per shard in any order, joined into exactly what the unsharded
// command prints: compare's table (or --json, --ndjson, --csv), explore's report (or --json).
// A file that is not a shard, a shard missing, twice, or of another run: exit 2, naming the file.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ExploreReport } from '../lab/explore.ts';
import type { CompareShard } from '../lab/merge.ts';
import { streamFor } from './compare.ts';
import { runCommand, UsageError } from './command.ts';

interface MergeFlags {
  json?: boolean;
  ndjson?: boolean;
  csv?: boolean;
}

type Shard = { kind: 'compare'; shard: CompareShard } | { kind: 'explore'; report: ExploreReport; file: string };

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('join the outputs of `compare --shard K/N` or `explore --shard K/N` into what one run prints')
    .argument('<files...>', 'one output file per shard, any order')
    .option('--json', 'as `--json` prints it')
    .option('--ndjson', 'compare: as `--ndjson` prints it')
    .option('--csv', 'compare: as `--csv` prints it')
    .action(async (files: string[], flags: MergeFlags) => {
      await runCommand('merge', async () => {
        const { mergeCompare, mergeExplore, MergeError } = await import('../lab/merge.ts');
        try {
          const shards = files.map(readShard);
          const kinds = new Set(shards.map((s) => s.kind));
          if (kinds.size > 1) throw new UsageError('the files mix compare and explore shards');
          if (shards[0]!.kind === 'explore') {
            if (flags.ndjson || flags.csv) throw new UsageError('explore shards merge to the report or --json');
            const r = mergeExplore(shards.map((s) => s as Extract<Shard, { kind: 'explore' }>));
            const { exploreText } = await import('../lab/explore.ts');
            process.stdout.write(flags.json ? JSON.stringify(r) + '\n' : exploreText(r) + '\n');
            return 0;
          }
          const { head, verdicts } = mergeCompare(shards.map((s) => (s as Extract<Shard, { kind: 'compare' }>).shard));
          const stream = await streamFor(flags);
          if (stream) {
            process.stdout.write(stream.start + verdicts.map((v, i) => stream.each(v, i)).join('') + stream.end);
            return 0;
          }
          const { compareTable } = await import('../lab/compare.ts');
          const note = `${verdicts.length} runs (seeds ${head.seeds[0]}…${head.seeds.at(-1)})`;
          process.stdout.write(compareTable(verdicts, head.scenarios, head.policies, head.seeds.length) + `\n\n${note}\n`);
          return 0;
        } catch (e) {
          if (e instanceof MergeError) throw new UsageError(e.message);
          throw e;
        }
      });
    });
}

/** A shard's file: an explore report with `shard`, or a compare shard (a head, then verdicts). */
function readShard(file: string): Shard {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const lines = text.split('\n').filter((l) => l !== '');
  const parse = (l: string, n: number): Record<string, unknown> => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new UsageError(`${file}:${n}: not JSON (merge reads the output of compare --shard or explore --shard)`);
    }
  };
  const first = lines.length ? parse(lines[0]!, 1) : {};
  const head = first['shard'] as Record<string, unknown> | undefined;
  if (typeof head !== 'object' || head === null) throw new UsageError(`${file}:1: no "shard" field: not the output of compare --shard or explore --shard`);
  if ('method' in first) return { kind: 'explore', report: first as unknown as ExploreReport, file };
  if (!Array.isArray(head['scenarios']) || !Array.isArray(head['policies']) || !Array.isArray(head['seeds'])) throw new UsageError(`${file}:1: "shard" lacks the matrix (scenarios, policies, seeds)`);
  const verdicts = 'verdicts' in first ? (first['verdicts'] as CompareShard['verdicts']) : lines.slice(1).map((l, i) => parse(l, i + 2) as unknown as CompareShard['verdicts'][number]);
  return { kind: 'compare', shard: { head: head as unknown as CompareShard['head'], verdicts, file } };
}
