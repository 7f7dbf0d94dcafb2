// The `store` extension (the domain builder's writes: trace-extensions.md): `count` entries from
// `slot`, the value growing by `stride` each time, as 64-bit arithmetic (mod 2^64).
import { describe, expect, test } from 'vitest';
import { EPERM, Hypervisor } from '../../hypervisor/index.ts';
import { NX, PAGE_RW, pte } from './helpers.ts';

const me = { dom: 1, vcpu: 0 };
function fresh(): Hypervisor {
  const hv = new Hypervisor();
  hv.createDomain({ domid: 1, vcpus: 1, base: 0x1000, count: 64 });
  return hv;
}
const run = (hv: Hypervisor, slot: number, count: number) => Array.from({ length: count }, (_, i) => hv.read(0x1000, slot + i));

describe('store with count and stride', () => {
  test('each entry is val + i × stride, carrying across the 32-bit halves', () => {
    const hv = fresh();
    expect(hv.store(me, 0x1000, 10, 0xffff_e067n, 4, 0x1000n)).toBe(0);
    expect(run(hv, 10, 4)).toEqual([0xffff_e067n, 0xffff_f067n, 0x1_0000_0067n, 0x1_0000_1067n]);
    // Slots around the range are untouched.
    expect([hv.read(0x1000, 9), hv.read(0x1000, 14)]).toEqual([0n, 0n]);
  });

  test('high flag bits (NX) ride along; a stride with high bits adds to the high half', () => {
    const hv = fresh();
    const base = pte(0x1010, PAGE_RW) | NX;
    expect(hv.store(me, 0x1000, 0, base, 512, 0x1000n)).toBe(0);
    const got = run(hv, 0, 512);
    expect(got).toEqual(Array.from({ length: 512 }, (_, i) => base + BigInt(i) * 0x1000n));
    expect(hv.store(me, 0x1001, 0, 0x1n, 3, 0x1_0000_0001n)).toBe(0);
    expect([0, 1, 2].map((i) => hv.read(0x1001, i))).toEqual([0x1n, 0x1_0000_0002n, 0x2_0000_0003n]);
  });

  test('wraps modulo 2^64 as the 64-bit entry would', () => {
    const hv = fresh();
    expect(hv.store(me, 0x1000, 0, 0xffff_ffff_ffff_f000n, 3, 0x1000n)).toBe(0);
    expect(run(hv, 0, 3)).toEqual([0xffff_ffff_ffff_f000n, 0n, 0x1000n]);
  });

  test('refused (EPERM) on a frame the caller does not own; nothing written', () => {
    const hv = fresh();
    hv.createDomain({ domid: 2, vcpus: 1, base: 0x2000, count: 8 });
    expect(hv.store(me, 0x2000, 0, 0x1067n, 2, 0x1000n)).toBe(EPERM);
    expect(hv.read(0x2000, 0)).toBe(0n);
  });
});
