// The log's lines as src/log/json.ts builds them: into the file's bytes (ByteOut) and into a
// sink's strings (StringOut) alike, and each the text JSON.stringify gives of the same values, the
// record's fields in recordToJson's order.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteOut } from '../../src/log/bytes.ts';
import { StringOut } from '../../src/log/json.ts';
import { replay } from '../../src/replay/replay.ts';
import { generateTrace } from '../../src/trace/generate.ts';
import { readRecord } from '../../src/trace/read.ts';
import { hasCaller } from '../../src/trace/types.ts';
import { recordToJson } from '../../src/trace/write.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-logjson-'));
const discard = { write: () => true };

describe('log lines built piece by piece', () => {
  it('ByteOut writes what StringOut writes: strings, integers, hex', () => {
    const b = new ByteOut(4);
    const s = new StringOut();
    for (const o of [b, s]) {
      o.str('plain');
      o.str('quote " back \\ tab \t nul \u0000 é → \ud800');
      o.int(0);
      o.int(-22);
      o.int(9007199254740991);
      o.hex(0);
      o.hex(0x1f);
      o.hex(0xffffffff);
      o.hex(0x100000000);
      o.hex(0x123456789abcd);
      o.hex(0x10000001011067n);
      o.hex(2n ** 53n - 1n);
      o.hex(2n ** 64n - 1n);
      o.hex(0xffff880000000000n);
      o.json({ a: [1, 'x'] });
      o.k(',');
    }
    expect(b.buf.toString('utf8', 0, b.pos)).toBe(s.take());
  });

  it('a replay logs the same bytes to a file as to a sink, each line JSON.stringify’s text', async () => {
    const trace = join(dir, 't.ndjson');
    writeFileSync(trace, generateTrace({ seed: 3, records: 3000, allHypercalls: true }).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const file = join(dir, 't.log');
    const lines: string[] = [];
    await replay(trace, { out: discard, err: discard, quiet: true, log: file });
    await replay(trace, { out: discard, err: discard, quiet: true, log: { write: (l: string) => lines.push(l) } });
    expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
    let records = 0;
    for (const line of lines) {
      const o = JSON.parse(line) as Record<string, unknown>;
      expect(JSON.stringify(o) + '\n').toBe(line);
      if (typeof o.op !== 'string') continue;
      records++;
      const rec = readRecord(o);
      const { level, time, result } = o;
      const caller = hasCaller(rec) ? { dom: o.dom as number, vcpu: o.vcpu as number } : undefined;
      const head = o.line === undefined ? { level, time } : { level, time, line: o.line };
      expect(line).toBe(JSON.stringify({ ...head, ...recordToJson(rec, caller), result }) + '\n');
    }
    expect(records).toBe(3000);
  });
});
