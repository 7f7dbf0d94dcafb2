// loOf / hiOf / va48 take one Number() for values below 2^53 and BigInt masks above (pte.ts): both
// ways must give the definition's answer — bits 31:0, bits 63:32, bits 47:0 of the 64-bit value —
// on each side of every bound (2^32, 2^47, 2^48, 2^53, 2^64) and for what a guest can put in a
// register (any u64; a negative BigInt is read as its 64-bit two's complement).
import { describe, expect, test } from 'vitest';
import { hiOf, loOf, va48 } from '../../hypervisor/pte.ts';

const U64 = (1n << 64n) - 1n;
const lo = (v: bigint) => Number(v & 0xffffffffn);
const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
const low48 = (v: bigint) => Number(v & ((1n << 48n) - 1n));

const values: bigint[] = [0n, 1n, -1n, -(1n << 40n), U64, 1n << 63n, 0x8000000000001067n, 0xffff800000000000n, 0xffff880000001000n];
for (const bit of [32n, 47n, 48n, 52n, 53n, 63n]) for (const d of [-1n, 0n, 1n, 0x1067n]) values.push((1n << bit) + d);

describe('an entry\'s halves and a va\'s low 48 bits', () => {
  test.each(values.map((v) => [`0x${BigInt.asUintN(64, v).toString(16)}${v < 0n ? ' (negative)' : ''}`, v] as const))('%s', (_, v) => {
    expect([loOf(v), hiOf(v), va48(v)]).toEqual([lo(v), hi(v), low48(v)]);
  });
});
