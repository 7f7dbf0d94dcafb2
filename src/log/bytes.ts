// The log file's output buffer, written a piece at a time (json.ts's LineOut): the bytes of a
// line go straight into it — no string per line, nothing to join or encode later, nothing for the
// collector — the same bytes JSON.stringify's text would encode to.
import type { LineOut } from './json.ts';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The `digits` low hex digits of the 32-bit x into b at p (the last nibble last); the end. */
function hexDigits(b: Buffer, p: number, x: number, digits: number): number {
  for (let i = digits - 1; i >= 0; i--) {
    b[p + i] = HEX[x & 15]!;
    x >>>= 4;
  }
  return p + digits;
}

export class ByteOut implements LineOut {
  buf: Buffer;
  /** Bytes written: buf[0, pos). */
  pos = 0;
  /** Digits of a number, last first. */
  private readonly digits = new Uint8Array(24);

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for n more bytes (the buffer grows for a long line). */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Any text, UTF-8. */
  utf8(s: string): void {
    this.room(3 * s.length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Text known to be ASCII (json.ts's keys and punctuation). */
  k(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  int(n: number): void {
    if (!Number.isSafeInteger(n)) return this.utf8(JSON.stringify(n));
    this.room(18);
    const b = this.buf;
    if (n < 0) {
      b[this.pos++] = 45; // -
      n = -n;
    }
    const t = this.digits;
    let i = 0;
    do {
      const q = Math.floor(n / 10);
      t[i++] = 48 + (n - 10 * q);
      n = q;
    } while (n > 0);
    let p = this.pos;
    while (i > 0) b[p++] = t[--i]!;
    this.pos = p;
  }

  hex(v: number | bigint): void {
    let n: number;
    if (typeof v === 'bigint') {
      if (v < 0n || v > MAX_SAFE) return this.k('"0x' + v.toString(16) + '"');
      n = Number(v);
    } else if (!Number.isSafeInteger(v) || v < 0) {
      return this.utf8('"0x' + v.toString(16) + '"');
    } else n = v;
    this.room(18);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 34; // "
    b[p++] = 48; // 0
    b[p++] = 120; // x
    // Nibbles by shifts on 32-bit halves (no division per digit): the high half's digits, then
    // the low half's, all 8 of them when there is a high half.
    const hi = n > 0xffffffff ? Math.floor(n / 0x100000000) : 0;
    const lo = n >>> 0;
    if (hi > 0) p = hexDigits(b, p, hi, (35 - Math.clz32(hi)) >> 2);
    p = hexDigits(b, p, lo, hi > 0 ? 8 : lo === 0 ? 1 : (35 - Math.clz32(lo)) >> 2);
    b[p++] = 34;
    this.pos = p;
  }

  /** A JSON string: printable ASCII as it is, anything else as JSON.stringify writes it. */
  str(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 34 || c === 92 || c >= 0x80) return this.utf8(JSON.stringify(s));
      b[p++] = c;
    }
    b[p++] = 34;
    this.pos = p;
  }

  json(v: unknown): void {
    this.utf8(JSON.stringify(v));
  }
}
