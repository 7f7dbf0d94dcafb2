// A child of the memory section (memory.ts): replays TRACE with the log at info to LOG, --quiet,
// and prints its peak resident set (process.resourceUsage().maxRSS) and the records it ran, as
// one JSON line. Alone in its process, so that nothing but the replay is in the figure.
import { replay } from '../../src/replay/replay.ts';

const [trace, log] = process.argv.slice(2) as [string, string];
const sink = { write: (): boolean => true };
const t0 = performance.now();
const s = await replay(trace, { log, quiet: true, out: sink, err: sink });
const ms = performance.now() - t0;
if (s.exit !== 0) throw new Error(`memory bench: the replay of ${trace} stopped: ${s.reason} ${s.error ?? ''}`);
const ru = process.resourceUsage();
process.stdout.write(JSON.stringify({ records: s.records, maxRssKiB: ru.maxRSS, ms, heapUsed: process.memoryUsage().heapUsed }) + '\n');
