// createDomain's refusals (lifecycle.ts): a machine description the simulator cannot build is a
// SetupError naming the field, never a half-built domain. Each bound is tested on both sides, so
// that moving it by one fails a test (mutation testing found them pinned only by the CLI's tests).
import { describe, expect, it } from 'vitest';
import { Hypervisor, MAX_MACHINE_FRAMES, MAX_VCPUS, type DomainSpec } from '../../hypervisor/index.ts';

const ok: DomainSpec = { domid: 1, vcpus: 1, base: 0x100, count: 16 };

/** The SetupError createDomain throws for `spec` on a machine that already has `before`. */
function refusal(spec: Partial<DomainSpec>, before: DomainSpec[] = []): { message: string; field: unknown } {
  const hv = new Hypervisor();
  for (const d of before) hv.createDomain(d);
  try {
    hv.createDomain({ ...ok, ...spec });
  } catch (e) {
    expect((e as Error).name).toBe('SetupError');
    return { message: (e as Error).message, field: (e as { field?: unknown }).field };
  }
  throw new Error('createDomain accepted it');
}

function accepts(spec: Partial<DomainSpec>): boolean {
  const hv = new Hypervisor();
  hv.createDomain({ ...ok, ...spec });
  return hv.hasDomain(spec.domid ?? ok.domid);
}

describe('createDomain refuses what it cannot build, naming the field', () => {
  it('domid: 0 … 0x7fef (DOMID_SELF and above are reserved ids)', () => {
    for (const domid of [-1, 1.5, 0x7ff0]) {
      expect(refusal({ domid })).toEqual({ message: `domid ${domid} is not a domain id (0 … 0x7fef)`, field: 'domid' });
    }
    expect(accepts({ domid: 0 })).toBe(true);
    expect(accepts({ domid: 0x7fef })).toBe(true);
  });

  it('a domid already in use', () => {
    expect(refusal({ base: 0x200 }, [ok])).toEqual({ message: 'domain 1 already exists', field: 'domid' });
  });

  it(`vcpus: 1 … ${MAX_VCPUS}`, () => {
    for (const vcpus of [0, 1.5, MAX_VCPUS + 1]) {
      expect(refusal({ vcpus })).toEqual({ message: `vcpus must be 1 … ${MAX_VCPUS}, got ${vcpus}`, field: 'vcpus' });
    }
    expect(accepts({ vcpus: MAX_VCPUS })).toBe(true);
  });

  it('frames.count: a whole number ≥ 1', () => {
    for (const count of [0, 1.5]) {
      expect(refusal({ count })).toEqual({ message: 'frames.count must be ≥ 1', field: 'frames.count' });
    }
    expect(accepts({ count: 1 })).toBe(true);
  });

  it('frames below 0x100 are I/O memory (RAM starts at 0x100)', () => {
    expect(refusal({ base: 0xff })).toEqual({ message: 'frames below 0x100 are I/O memory', field: 'frames.base' });
    expect(accepts({ base: 0x100 })).toBe(true);
  });

  it("the frames end at the machine's last frame at most", () => {
    const max = MAX_MACHINE_FRAMES;
    expect(refusal({ base: max - 1, count: 2 })).toEqual({
      message: `frames end at 0x${(max + 1).toString(16)}, past the machine's 0x${max.toString(16)}`,
      field: 'frames',
    });
    expect(accepts({ base: max - 1, count: 1 })).toBe(true);
  });

  it("frames that are another domain's already", () => {
    expect(refusal({ domid: 2, base: 0x108 }, [ok])).toEqual({ message: 'mfn 0x108 already belongs to d1', field: 'frames' });
  });
});
