// `xensim inspect LOG …`: the flags (filters, --format, --json) as InspectOptions, and the command.
import { Option, type Command } from 'commander';
import { collect, runCommand, UsageError } from './command.ts';
import { LEVEL_VALUES } from '../log/line.ts';
import { INSPECT_FORMATS, inspect, type InspectFormat, type InspectOptions } from '../inspect/inspect.ts';
import type { TablesOptions } from '../inspect/tables.ts';
import type { LogSink } from '../log/write.ts';


/**
 * An MFN is hex, with or without `0x`, as Xen prints MFNs ("for mfn 1055"): a number pasted from
 * `xl dmesg` means what Xen meant. (Plain digits used to be decimal, so 1055 matched nothing.)
 */
export function parseMfnArg(s: string): number {
  const t = s.trim().toLowerCase();
  const m = /^(?:0x)?([0-9a-f]{1,10})$/.exec(t);
  if (m === null) throw new UsageError(`--mfn: not a frame number: ${JSON.stringify(s)} (hex, as Xen prints MFNs: 1055 or 0x1055)`);
  const n = parseInt(m[1]!, 16);
  if (n > 0xff_ffff_ffff) throw new UsageError(`--mfn: ${s} is over 2^40-1`);
  return n;
}

function parseIntArg(name: string, s: string): number {
  const t = s.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^[0-9]+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name}: not a non-negative integer: ${JSON.stringify(s)}`);
  return n;
}

function parseNumArg(name: string, s: string): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name}: not a number: ${JSON.stringify(s)}`);
  return n;
}

export function parseLevelArg(s: string): number {
  const t = s.trim().toLowerCase();
  if (t in LEVEL_VALUES) return LEVEL_VALUES[t]!;
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  throw new UsageError(`--level: ${JSON.stringify(s)} is not a level (trace, debug, info, warn, error, fatal, or a number)`);
}

interface InspectFlags {
  json?: boolean;
  refused?: boolean;
  vcpu?: string;
  dom?: string;
  op?: string[];
  mfn?: string;
  level?: string;
  since?: string;
  until?: string;
  format?: InspectFormat;
  color?: boolean;
  tree?: string;
  walk?: string;
  at?: string;
}

/** A virtual address: hex (0x optional, as Xen prints them), below 2^64. */
function parseVaArg(s: string): bigint {
  const t = s.trim().toLowerCase();
  const m = /^(?:0x)?([0-9a-f]{1,16})$/.exec(t);
  if (m === null) throw new UsageError(`--walk: not a virtual address: ${JSON.stringify(s)} (hex: 0xffffc20000000000)`);
  return BigInt(`0x${m[1]}`);
}

/** The command-line flags as InspectOptions (throws UsageError). */
export function inspectOptions(flags: InspectFlags): InspectOptions {
  const o: InspectOptions = {};
  if (flags.json) o.json = true;
  if (flags.refused) o.refused = true;
  if (flags.vcpu !== undefined) o.vcpu = parseIntArg('--vcpu', flags.vcpu);
  if (flags.dom !== undefined) o.dom = parseIntArg('--dom', flags.dom);
  if (flags.op !== undefined) o.op = flags.op.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (flags.mfn !== undefined) o.mfn = parseMfnArg(flags.mfn);
  if (flags.level !== undefined) o.level = parseLevelArg(flags.level);
  if (flags.since !== undefined) o.since = parseNumArg('--since', flags.since);
  if (flags.until !== undefined) o.until = parseNumArg('--until', flags.until);
  if (flags.format !== undefined) o.format = flags.format;
  if (flags.color !== undefined) o.color = flags.color;
  if (o.since !== undefined && o.until !== undefined && o.since > o.until) {
    throw new UsageError(`--since ${o.since} is after --until ${o.until}: no line can match`);
  }
  return o;
}

/** --tree / --walk / --at: the page tables at a line (tables.ts); other filters do not apply. */
async function runTables(log: string, flags: InspectFlags, out: LogSink, err: LogSink): Promise<number> {
  const others = (['refused', 'op', 'mfn', 'level', 'since', 'until', 'format', 'json'] as const).filter((k) => flags[k] !== undefined && flags[k] !== false);
  if (others.length > 0) throw new UsageError(`--tree and --walk show the page tables; they take --at, --dom and --vcpu, not --${others[0]}`);
  if (flags.tree === undefined && flags.walk === undefined) throw new UsageError('--at goes with --tree MFN or --walk VA');
  const o: TablesOptions = { out, err };
  if (flags.tree !== undefined) o.tree = parseMfnArg(flags.tree);
  if (flags.walk !== undefined) o.walk = parseVaArg(flags.walk);
  if (flags.at !== undefined) o.at = parseIntArg('--at', flags.at);
  if (flags.dom !== undefined) o.dom = parseIntArg('--dom', flags.dom);
  if (flags.vcpu !== undefined) o.vcpu = parseIntArg('--vcpu', flags.vcpu);
  const { showTables } = await import('../inspect/tables.ts');
  return showTables(log, o);
}


/** Adds `xensim inspect LOG …` to the program. */
export function registerInspect(program: Command): Command {
  return program
    .command('inspect')
    .description('summarise a hypercall log, or print the lines that match filters')
    .argument('<log>', 'a hypercall log (pino NDJSON from replay --log or run); - for stdin')
    .option('--json', 'the summary as one JSON object (with filters: the matching lines as NDJSON)')
    .option('--refused', 'refusals, failed records, BUGs with a refusal, failed guest pins')
    .option('--vcpu <n>', 'lines by or about vCPU n (its calls and events, flushes of its TLB, IPIs to it, deadlocks it is in)')
    .option('--dom <n>', 'lines of domain n (guest events count as the current guest\'s)')
    .option('--op <name>', 'record op, MMUEXT command, refused operation, guest op or event kind (repeat, or a,b)', collect)
    .option('--mfn <x>', 'every line touching frame x, in order (hex as Xen prints it: 1011 or 0x1011)')
    .option('--level <level>', 'lines at this pino level or above (info, warn, error, or 30/40/50)')
    .option('--since <t>', 'lines at simulated time >= t')
    .option('--until <t>', 'lines at simulated time <= t')
    .addOption(new Option('--format <format>', 'summary | xen (xl dmesg) | pretty (pino-pretty) | lines (raw NDJSON)').choices(INSPECT_FORMATS))
    .option('--no-color', 'no colours in --format pretty')
    .option('--tree <mfn>', 'the page-table tree under frame mfn (hex), as it stood at --at (default: the end)')
    .option('--walk <va>', "the walk of virtual address va through --dom/--vcpu's current tables, at --at")
    .option('--at <line>', 'with --tree/--walk: the log replayed up to and including this line')
    .action(async (log: string, flags: InspectFlags) => {
      await runCommand('inspect', async (signal, err) => {
        if (flags.tree !== undefined || flags.walk !== undefined || flags.at !== undefined) return runTables(log, flags, process.stdout, err);
        const opts = inspectOptions(flags);
        // commander's --no-color defaults color to true: let pretty decide by the TTY unless asked.
        if (flags.color !== false) delete opts.color;
        return (await inspect(log, { ...opts, signal, err })).exit;
      });
    });
}
