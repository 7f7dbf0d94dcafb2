// The trace reader's byte scanner (src/trace/scan.ts) against the slow path it stands in for
// (JSON.parse + readRecord): on every line it takes, the same record, property for property and
// in the same order; on every line the slow path refuses, it gives up (so the error stays the
// slow path's). Generated traces, hand-picked edge cases, and seeded byte mutations of both. And
// the whole-file reader, which splits lines as the scanner reads them, against splitting the text
// and reading each line the slow way (parseLine): the same entries, the same first error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTrace } from '../../src/trace/generate.ts';
import { parseLine, readRecord, readTraceBatches } from '../../src/trace/read.ts';
import { scanRecord } from '../../src/trace/scan.ts';
import type { TraceRecord } from '../../src/trace/types.ts';

/** A value in an order-keeping form that tells a number from a bigint. */
function form(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
}

/** The slow path's record, or 'refused'. */
function slow(line: string): string {
  try {
    const o: unknown = JSON.parse(line);
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'refused';
    return form(readRecord(o as Record<string, unknown>));
  } catch {
    return 'refused';
  }
}

function fast(line: string): string | undefined {
  const b = Buffer.from(line, 'utf8');
  const r = scanRecord(b, 0, b.length);
  return r === undefined ? undefined : form(r);
}

/** Checks one line; true when the scanner took it. */
function agree(line: string): boolean {
  const f = fast(line);
  if (f === undefined) return false;
  expect(f, line).toBe(slow(line));
  return true;
}

function lines(seed: number, records: number, allHypercalls = false): string[] {
  return generateTrace({ seed, records, allHypercalls }).map((r) => JSON.stringify(r));
}

describe('the byte scanner reads what JSON.parse + readRecord read', () => {
  it('takes the generated traces’ common records, each the slow path’s record', () => {
    let taken = 0;
    let all = 0;
    for (const seed of [1, 2, 3, 7]) {
      for (const l of lines(seed, 3000)) {
        all++;
        if (agree(l)) taken++;
      }
    }
    // Everything but create_domain, destroy_domain and records with an expect.
    expect(taken / all).toBeGreaterThan(0.95);
    for (const l of lines(11, 3000, true)) agree(l);
  });

  it('edge cases: the same record, or a give-up where the slow path refuses', () => {
    const cases = [
      '{"mfn":"0x10","op":"frame"}',
      '{"op":"frame","mfn":"0X0000000000000000000001F"}',
      '{"op":"frame","mfn":"0xffffffffffffffff"}',
      '{"op":"frame","mfn":"0x1fffffffffffff"}',
      '{"op":"frame","mfn":"0x20000000000000"}',
      '{"op":"frame","mfn":"0x10000000000000000"}',
      '{"op":"frame","mfn":9007199254740991}',
      '{"op":"frame","mfn":9007199254740992}',
      '{"op":"frame","mfn":012}',
      '{"op":"frame","mfn":0}',
      '{"op":"frame","mfn":1.5}',
      '{"op":"frame","mfn":1e3}',
      '{"op":"frame","mfn":-1}',
      '{"op":"frame","mfn":"0x"}',
      '{"op":"frame","mfn":"12"}',
      '{"op":"frame","mfn":"0x1","mfn":"0x2"}',
      '{"op":"frame", "mfn":"0x1"}',
      '{"op":"frame","mfn":"0x1"} ',
      '{"op":"frame","mfn":"0x1"}x',
      '{"op":"frame"}',
      '{"op":"fram\\u0065","mfn":"0x1"}',
      '{"op":"store","mfn":"0x1","slot":511,"val":"0xffffffffffffffff","count":1,"stride":"0x1000"}',
      '{"op":"store","mfn":"0x1","slot":511,"val":"0x1","count":2}',
      '{"op":"store","mfn":"0x1","slot":5,"val":"0x1","count":0}',
      '{"op":"store","mfn":"0x1","slot":512,"val":"0x1"}',
      '{"op":"store","mfn":"0x1","slot":"0x5","val":"0x1"}',
      '{"op":"read","mfn":"0x1","slot":3,"dom":"0x7fef","vcpu":4095}',
      '{"op":"read","mfn":"0x1","slot":3,"dom":"0x7ff0"}',
      '{"op":"read","mfn":"0x1","slot":3,"vcpu":4096}',
      '{"op":"access","va":"0xffff880000000000","write":true,"dom":1}',
      '{"op":"access","va":"0x1","write":1}',
      '{"op":"access","va":"0x1","write":tru}',
      '{"op":"mmu_update","reqs":[{"val":"0x1","ptr":"0x2"}],"foreigndom":"0xffffffffffff7ff0"}',
      '{"op":"mmu_update","reqs":[]}',
      '{"op":"mmu_update","reqs":[{"ptr":"0x2"}]}',
      '{"op":"mmu_update","reqs":[{"ptr":"0x2","val":"0x1","ptr":"0x3"}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"pin_l4_table","mfn":"0x100b"},{"cmd":26},{"cmd":"0x100000005","mfn":1}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"copy_page","mfn":1,"src_mfn":"0x2"}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"copy_page","mfn":1}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"set_ldt","linear_addr":"0x1000","nr_ents":"0x100000001"}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"invlpg_multi","linear_addr":"0x1000","vcpumask":null}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_multi","vcpumask":[0,"0x3",9007199254740991]}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_multi","vcpumask":["0x20000000000000"]}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_multi"}]}',
      '{"op":"mmuext_op","ops":[{"cmd":"pin_l5_table","mfn":1}]}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"invlpg|all"}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"invlpg","vcpumask":[1]}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"invlpg|all","vcpumask":[1]}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"INVLPG | all"}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":6}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"0xfffffffffffff001"}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"0xfffffffffffff001","vcpumask":null}',
      '{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"0xfffffffffffff003"}',
      '{"op":"multicall","calls":[{"op":"mmu_update","reqs":[{"ptr":"0x1","val":"0x2"}]},{"op":"decrease_reservation","mfns":["0x1",2]}]}',
      '{"op":"multicall","calls":[{"op":"mmu_update","reqs":[],"dom":1}]}',
      '{"op":"multicall","calls":[{"op":"multicall","calls":[]}]}',
      '{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"invlpg|all"}]}]}]}',
      '{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"invlpg|all"}]}]}]}]}]}]}]}]}',
      '{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"invlpg|all"}]}]}]}]}]}]}]}]}]}',
      '{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"mmu_update","reqs":[]}],"dom":1}]}',
      '{"op":"multicall","calls":[{"op":"multicall","calls":[{"op":"update_va_mapping","va":"0x1000","val":"0x0","flags":"invlpg|all"}]},{"op":"mmuext_op","ops":[{"cmd":"tlb_flush_all"}]}]}',
      '{"op":"multicall","calls":[{"op":"frame","mfn":1}]}',
      '{"op":"multicall","calls":[]}',
      '{"op":"memory_exchange","mfns":[]}',
      '{"op":"frame","mfn":"0x1","expect":0}',
      '{"level":30,"time":1,"op":"frame","mfn":"0x1"}',
      '{"op":"frame","mfn":"0x1","note":"x"}',
    ];
    const accepted = cases.filter((c) => slow(c) !== 'refused');
    const taken = cases.filter(agree);
    // (every line taken is one the slow path accepts: agree() compared it)
    expect(taken.length).toBeGreaterThan(accepted.length / 2);
  });

  it('mutated lines: where the slow path refuses, the scanner gives up', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = '0123456789abcdefxX"\\,:{}[] .e-+nulltruefalse';
    let refused = 0;
    for (const l of lines(5, 4000, true)) {
      const cut = rand(l.length);
      const edit = rand(3);
      const ch = alphabet[rand(alphabet.length)]!;
      const m = edit === 0 ? l.slice(0, cut) + ch + l.slice(cut + 1) : edit === 1 ? l.slice(0, cut) + l.slice(cut + 1) : l.slice(0, cut) + ch + l.slice(cut);
      if (slow(m) === 'refused') {
        refused++;
        expect(fast(m), m).toBeUndefined();
      } else agree(m);
    }
    expect(refused).toBeGreaterThan(500);
  });

  it('values at the edges of every width, in place of a generated line’s numbers', () => {
    const edges = ['0', '1', '4095', '4096', '32752', '"0x7fef"', '"0x7ff0"', '511', '512', '9007199254740991', '9007199254740992', '"0x0"', '"0x00000000000000000001"',
      '"0x1fffffffffffff"', '"0x20000000000000"', '"0xFFFFFFFFFFFFFFFF"', '"0X8000000000000000"', '"0x10000000000000000"', '"0x100000000"', '"0xffffffff"', 'null', 'true', '"none"', '"tlb_flush|all"', '[]', '[0,1]'];
    let seed = 99;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let taken = 0;
    for (const l of lines(6, 3000, true)) {
      const values = [...l.matchAll(/:("0x[0-9a-f]+"|\d+|true|false|"[a-z_|]+")/g)];
      if (values.length === 0) continue;
      const v = values[rand(values.length)]!;
      const at = v.index + 1;
      const m = l.slice(0, at) + edges[rand(edges.length)] + l.slice(at + v[1]!.length);
      if (slow(m) === 'refused') expect(fast(m), m).toBeUndefined();
      else if (agree(m)) taken++;
    }
    expect(taken).toBeGreaterThan(600);
  });
});

describe('the whole-file reader (lines split as they are scanned) reads what parseLine reads line by line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xensim-scan-'));
  let files = 0;
  /** The entries (or the error) of readTraceBatches over `text`. */
  async function viaReader(text: string | Buffer): Promise<{ entries: string[]; error?: string }> {
    const path = join(dir, `t${files++}.ndjson`);
    writeFileSync(path, text);
    const entries: string[] = [];
    try {
      for await (const batch of readTraceBatches(path)) for (const e of batch) entries.push(`${e.line} ${form(e.record)}`);
    } catch (e) {
      return { entries, error: (e as Error).message.slice(path.length) };
    }
    return { entries };
  }
  /** The same from the text split as readline splits it, each line through parseLine. */
  function viaLines(text: string): { entries: string[]; error?: string } {
    const lines = text.split(/\r\n|\n|\r/);
    if (/[\r\n]$/.test(text)) lines.pop();
    const entries: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      let r: TraceRecord | null;
      try {
        r = parseLine(lines[i]!, '', i + 1);
      } catch (e) {
        return { entries, error: (e as Error).message };
      }
      if (r !== null) entries.push(`${i + 1} ${form(r)}`);
    }
    return { entries };
  }

  let seed = 4242;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  /** Generated lines joined by LF, CRLF or a lone CR, with blank, comment and spaced lines among them. */
  function text(records: string[]): string {
    const breaks = ['\n', '\r\n', '\r'];
    let out = '';
    for (const l of records) {
      const k = rand(12);
      const line = k === 0 ? `${l} ` : k === 1 ? ` ${l}` : k === 2 ? l.replace(',', ', ') : l;
      out += line + breaks[rand(3)];
      if (k === 3) out += '# a comment' + breaks[rand(3)];
      if (k === 4) out += breaks[rand(3)];
    }
    return out;
  }

  it('generated traces with mixed line breaks, blank, comment and spaced lines', async () => {
    for (const s of [1, 7]) {
      const t = text(lines(s, 1500, s === 1));
      const got = await viaReader(t);
      expect(got.error).toBeUndefined();
      expect(got.entries).toEqual(viaLines(t).entries);
      // and without a final line break
      const cut = t.replace(/[\r\n]+$/, '');
      expect(await viaReader(cut)).toEqual(viaLines(cut));
    }
  });

  it('lines across read chunks, and a multicall longer than one', async () => {
    const calls = Array.from({ length: 1200 }, (_, i) => `{"op":"mmu_update","reqs":[{"ptr":"0x${(0x1000 + i).toString(16)}008","val":"0x1007067"}]}`);
    const long = `{"op":"multicall","dom":1,"calls":[${calls.join(',')}]}`;
    const t = text(lines(3, 2000)) + long + '\r\n' + text(lines(4, 500)) + long;
    expect(long.length).toBeGreaterThan(1 << 16);
    const got = await viaReader(t);
    expect(got.error).toBeUndefined();
    expect(got.entries).toEqual(viaLines(t).entries);
  });

  it('the line reader’s own errors after chunks of scanned lines name the right line', async () => {
    const rec = '{"op":"frame","mfn":"0x10"}';
    const many = (n: number, br: string): string => Array<string>(n).fill(rec).join(br) + br;
    const cases: [string | Buffer, string, number][] = [
      [many(3000, '\r\n') + 'x\0\n', 'binary data: a NUL byte at column 2', 3001],
      [many(2500, '\n') + 'x'.repeat((1 << 20) + 10) + '\n', 'line longer than 1048576 bytes', 2501],
      [Buffer.concat([Buffer.from(many(4000, '\r') + 'caf'), Buffer.from([0xff, 10])]), 'not UTF-8 text: byte 0xff at column 4', 4001],
    ];
    for (const [t, what, line] of cases) {
      const got = await viaReader(t);
      expect(got.entries.length).toBe(line - 1);
      expect(got.error).toContain(`:${line}: ${what}`);
    }
  });

  it('a bad line: the records before it, then the slow path’s error', async () => {
    const good = lines(5, 400, true);
    for (let i = 0; i < 60; i++) {
      const l = good[rand(good.length)]!;
      const at = rand(l.length);
      const bad = rand(2) === 0 ? l.slice(0, at) + l.slice(at + 1) : l.slice(0, at) + '"' + l.slice(at);
      const t = text(good.slice(0, 100)) + bad + '\n' + text(good.slice(100, 120));
      const want = viaLines(t);
      const got = await viaReader(t);
      expect(got.entries).toEqual(want.entries);
      expect(got.error, bad).toBe(want.error);
    }
  });
});
