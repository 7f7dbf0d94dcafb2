// The input limits of docs/limits.md, at the reader level: the line reader refuses an over-long
// line while reading it (bounded memory), binary data and bytes that are not UTF-8 with FILE:LINE
// and the column, after handing over the good lines before them; the trace reader refuses deep
// nesting before parsing, arrays over MAX_ARRAY entries, and an empty file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8, MAX_DEPTH, MAX_LINE_BYTES, nestingOver, readLineBatches } from '../../src/trace/lines.ts';
import { parseLine, readTraceBatches, TraceError } from '../../src/trace/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-limits-'));
let n = 0;
function file(data: string | Buffer): string {
  const p = join(dir, `f${n++}`);
  writeFileSync(p, data);
  return p;
}

/** The lines read before the error, and the error. */
async function lines(source: Parameters<typeof readLineBatches>[0]): Promise<{ got: string[]; error: TraceError | undefined }> {
  const got: string[] = [];
  try {
    for await (const b of readLineBatches(source)) got.push(...b);
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    return { got, error: e };
  }
  return { got, error: undefined };
}

describe('the line reader', () => {
  it('a line of exactly MAX_LINE_BYTES is read; one byte more is refused, naming the line', async () => {
    const max = 'x'.repeat(MAX_LINE_BYTES);
    const ok = await lines(file(`a\n${max}\nb\n`));
    expect(ok.error).toBeUndefined();
    expect(ok.got.map((l) => l.length)).toEqual([1, MAX_LINE_BYTES, 1]);
    for (const text of [`a\nb\n${max}x\nc\n`, `a\nb\n${max}x`, `a\r\nb\r\n${max}x\r\n`]) {
      const r = await lines(file(text));
      expect(r.got).toEqual(['a', 'b']);
      expect(r.error?.line).toBe(3);
      expect(r.error?.message).toMatch(/:3: line longer than 1048576 bytes \(1 MiB/);
    }
  });

  it('refuses a long line without reading the rest of it (a 20 MB line, from a stream that counts what is taken)', async () => {
    let taken = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"op":"audit"}\n');
      const chunk = Buffer.alloc(1 << 16, 'y');
      for (let i = 0; i < 320; i++) {
        taken += chunk.length;
        yield chunk;
      }
    }
    const r = await lines(endless());
    expect(r.got).toEqual(['{"op":"audit"}']);
    expect(r.error?.message).toMatch(/^-:2: line longer than/);
    expect(taken).toBeLessThanOrEqual(MAX_LINE_BYTES + (1 << 16));
  });

  it('a NUL byte: the lines before it, then FILE:LINE with the column', async () => {
    const p = file(Buffer.from('one\ntwo\r\nth\0ree\nfour\n'));
    const r = await lines(p);
    expect(r.got).toEqual(['one', 'two']);
    expect(r.error?.message).toBe(`${p}:3: binary data: a NUL byte at column 3 (xensim reads UTF-8 text)`);
  });

  it('bytes that are not UTF-8 (a lone continuation byte, an overlong form, a surrogate, a cut-off character at the end)', async () => {
    const cases: [Buffer, number, string][] = [
      [Buffer.from([0x61, 0x0a, 0x62, 0x80, 0x0a]), 2, 'byte 0x80 at column 2'],
      [Buffer.from([0x0a, 0x0a, 0xc0, 0xaf, 0x0a]), 3, 'byte 0xc0 at column 1'],
      [Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]), 1, 'byte 0xed at column 2'],
      [Buffer.from([0x61, 0x0a, 0x62, 0xe2, 0x82]), 2, 'byte 0xe2 at column 2'],
    ];
    for (const [bytes, line, what] of cases) {
      const r = await lines(file(bytes));
      expect(r.error?.line).toBe(line);
      expect(r.error?.message).toContain(`not UTF-8 text: ${what}`);
    }
    // Valid multi-byte text (and a character split across two read chunks) is fine.
    const text = 'é→✓🙂\n' + 'x'.repeat((1 << 16) - 1) + 'é\n';
    expect((await lines(file(text))).got).toEqual(text.split('\n').slice(0, 2));
    expect(firstInvalidUtf8(Buffer.from(text))).toBe(-1);
  });

  it('reads a stream as well as a file (inspect and export read standard input)', async () => {
    async function* parts(): AsyncGenerator<string> {
      yield 'a\r';
      yield '\nb\n';
      yield 'c';
    }
    expect(await lines(parts())).toEqual({ got: ['a', 'b', 'c'], error: undefined });
  });
});

describe('the trace reader', () => {
  it('nesting: the limit is the depth of arrays and objects, strings do not count', () => {
    const deep = (d: number) => '['.repeat(d) + ']'.repeat(d);
    expect(nestingOver(deep(MAX_DEPTH))).toBe(false);
    expect(nestingOver(deep(MAX_DEPTH + 1))).toBe(true);
    expect(nestingOver(`{"s":"${'['.repeat(500)}"}`)).toBe(false);
    expect(nestingOver(`[${'[],'.repeat(500)}[]]`)).toBe(false);
    const line = `{"op":"audit","expect":{"mismatches":${deep(100)}}}`;
    expect(() => parseLine(line, 't.ndjson', 7)).toThrow(`t.ndjson:7: arrays and objects nested deeper than ${MAX_DEPTH} levels`);
  });

  // Issue 12 replaced the old 65,536-entry limit of an array: Xen takes any count that fits an
  // unsigned int (with continuations); the 1 MiB line is the bound. A bad entry is still named.
  it('an array has no limit of its own: only the line bounds it, and a bad entry is still named', () => {
    const n = 200_000;
    const ok = parseLine(JSON.stringify({ op: 'decrease_reservation', mfns: new Array(n).fill(1) }), 't.ndjson', 2);
    expect(ok).toMatchObject({ op: 'decrease_reservation' });
    expect((ok as { mfns: unknown[] }).mfns).toHaveLength(n);
    const mask = JSON.stringify({ op: 'mmuext_op', ops: [{ cmd: 'tlb_flush_multi', vcpumask: new Array(n).fill(0) }] });
    expect(parseLine(mask, 't.ndjson', 3)).toMatchObject({ op: 'mmuext_op' });
    const mfns = new Array(n).fill(1);
    mfns[n - 1] = 'junk';
    expect(() => parseLine(JSON.stringify({ op: 'decrease_reservation', mfns }), 't.ndjson', 2)).toThrow(
      `t.ndjson:2: field "mfns[${n - 1}]": expected an MFN`,
    );
  });

  it('an empty file (or only blank lines) is bad input; a file of comments is a trace with no records', async () => {
    for (const text of ['', '\n\n  \r\n']) {
      const p = file(text);
      await expect(async () => {
        for await (const b of readTraceBatches(p)) void b;
      }).rejects.toThrow(`${p}: empty file: no records`);
    }
    const comments = file('# nothing yet\n');
    const got: unknown[] = [];
    for await (const b of readTraceBatches(comments)) got.push(...b);
    expect(got).toEqual([]);
  });

  it('a parser message never carries raw control characters', () => {
    expect(() => parseLine('{"op":\u0001}', 't.ndjson', 1)).toThrow(/not valid JSON \([^\u0001]*\)$/);
  });
});
