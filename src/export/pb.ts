// A protobuf encoder for the few wire types the Perfetto trace uses (varint, 64-bit, length-
// delimited), writing into one growing buffer: a nested message is opened with `open(field)`,
// which reserves one byte for its length, and closed with `close()`, which writes the length and
// moves the body when the length needs more than a byte. Lengths and tags are minimal varints, as
// every protobuf encoder writes them.

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export class PbWriter {
  buf: Buffer = Buffer.allocUnsafe(1 << 17);
  pos = 0;
  private readonly opens: number[] = [];

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  /** A non-negative integer up to 2^53 as a varint. */
  private varint(v: number): void {
    // Most are one byte (tags, iids, small lengths and counts).
    if (v < 0x80 && this.pos < this.buf.length) {
      this.buf[this.pos++] = v;
      return;
    }
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[p++] = v;
    this.pos = p;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** uint32/uint64/enum/bool field; `v` an integer in [0, 2^53). */
  uint(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** int32/int64 field (two's complement: a negative value takes ten bytes). */
  int(field: number, v: number): void {
    if (v >= 0) return this.uint(field, v);
    this.tag(field, WIRE_VARINT);
    let u = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  double(field: number, v: number): void {
    this.tag(field, WIRE_I64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  string(field: number, s: string): void {
    this.tag(field, WIRE_LEN);
    // Short ASCII (names, keys, errnos): byte by byte, its length one byte; else the general way.
    if (s.length < 64) {
      this.ensure(s.length + 1);
      const b = this.buf;
      const start = this.pos;
      let p = start + 1;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === s.length) {
        b[start] = s.length;
        this.pos = p;
        return;
      }
    }
    if (s.length < 5461) {
      // At most 3 bytes a UTF-16 unit: under 16384 bytes, a length of two bytes at most. Written
      // in place, then the length before it (moved left a byte when it needs only one).
      this.ensure(3 * s.length + 2);
      const at = this.pos;
      const n = this.buf.write(s, at + 2, 'utf8');
      if (n < 0x80) {
        this.buf.copyWithin(at + 1, at + 2, at + 2 + n);
        this.buf[at] = n;
        this.pos = at + 1 + n;
      } else {
        this.buf[at] = (n & 0x7f) | 0x80;
        this.buf[at + 1] = n >> 7;
        this.pos = at + 2 + n;
      }
      return;
    }
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Starts a nested message in `field`. */
  open(field: number): void {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    this.opens.push(this.pos);
    this.pos += 1;
  }


  /** Ends the innermost open message: its length in front of it. */
  close(): void {
    const at = this.opens.pop()!;
    const len = this.pos - at - 1;
    // Most bodies are under 128 bytes: one byte of length, nothing moved.
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const size = varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.pos);
      this.pos += size - 1;
    }
    let v = len;
    let p = at;
    while (v >= 0x80) {
      this.buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[p] = v;
  }

  /** The bytes written so far (a copy), and the writer emptied. Only between messages. */
  take(): Uint8Array {
    const out = Uint8Array.prototype.slice.call(this.buf, 0, this.pos);
    this.pos = 0;
    return out;
  }
}
