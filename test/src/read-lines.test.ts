// The batched line reader under the trace reader splits exactly as readline did (CRLF, LF, a lone
// CR, CRLF across a read chunk, no line after a final newline), and a bad line still lets the
// records before it run first.
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { readLineBatches, readTraceBatches, TraceError } from '../../src/trace/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'xensim-lines-'));
let n = 0;
function file(text: string): string {
  const p = join(dir, `t${n++}.txt`);
  writeFileSync(p, text);
  return p;
}

async function viaReadline(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })) out.push(l);
  return out;
}

async function viaBatches(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of readLineBatches(path)) out.push(...b);
  return out;
}

const CHUNK = 1 << 16;

describe('readLineBatches', () => {
  const cases: Record<string, string> = {
    empty: '',
    'one newline': '\n',
    'no final newline': 'a\nb',
    'final newline': 'a\nb\n',
    'blank lines': '\n\na\n\n\nb\n\n',
    crlf: 'a\r\nb\r\n\r\nc',
    'lone cr': 'a\rb\r\rc\r',
    mixed: 'a\r\n\rb\n\r\nc\r',
    unicode: 'é\n→ ✓\r\n🙂',
    // A CRLF split across two read chunks, and a multi-byte character split across them.
    'crlf across a chunk': 'x'.repeat(CHUNK - 1) + '\r\n' + 'y\r\n',
    'cr at a chunk end': 'x'.repeat(CHUNK - 1) + '\r' + 'y',
    'cr ending a chunk and the file': 'x'.repeat(CHUNK - 1) + '\r',
    'utf-8 across a chunk': 'x'.repeat(CHUNK - 1) + 'é\n' + 'z',
    'long lines': Array.from({ length: 50 }, (_, i) => String(i).repeat(5000)).join('\n'),
  };
  for (const [name, text] of Object.entries(cases)) {
    it(`splits like readline: ${name}`, async () => {
      const p = file(text);
      expect(await viaBatches(p)).toEqual(await viaReadline(p));
    });
  }
});

describe('readTraceBatches', () => {
  it('yields the good records before a bad line, then throws TraceError for it', async () => {
    const p = file(['{"op":"audit"}', '# comment', '{"op":"frame","mfn":1}', '{"op":"nope"}', '{"op":"audit"}'].join('\n'));
    const seen: number[] = [];
    let error: unknown;
    try {
      for await (const b of readTraceBatches(p)) for (const e of b) seen.push(e.line);
    } catch (e) {
      error = e;
    }
    expect(seen).toEqual([1, 3]);
    expect(error).toBeInstanceOf(TraceError);
    expect((error as TraceError).line).toBe(4);
  });

  it('names a missing file as a trace that cannot be read', async () => {
    await expect(async () => {
      for await (const b of readTraceBatches(join(dir, 'missing.ndjson'))) void b;
    }).rejects.toThrow(/cannot read the trace/);
  });
});
