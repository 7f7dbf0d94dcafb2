// Policies are data a user names on the command line and in scenario files: every name is checked
// against the guest's own presets and knobs, so a name that happens to be a property of every
// JavaScript object ("__proto__", "toString") is an unknown name with the list of valid ones, not
// a TypeError (issue 15: no stack trace for anything a user can do).
import { describe, expect, it } from 'vitest';
import { makePolicy, PolicyError, PRESETS } from '../../guest/policy.ts';

const OBJECT_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

describe('policy names', () => {
  for (const key of OBJECT_KEYS) {
    it(`"${key}" is an unknown preset and an unknown knob`, () => {
      expect(() => makePolicy(key)).toThrow(PolicyError);
      expect(() => makePolicy(key)).toThrow(/unknown policy preset .*presets: linux-2\.6\.28/);
      expect(() => makePolicy('linux-2.6.28', [`${key}=1`])).toThrow(/unknown knob .*knobs: pinAliasFlush/);
    });
  }

  it('a valid setting changes only its knob', () => {
    const p = makePolicy('linux-2.6.28', ['kernelFlushVia=hypercall_flush_all', 'pinAliasFlushAt.mm_pin_all=never']);
    expect(p).toEqual({
      ...PRESETS['linux-2.6.28'],
      kernelFlushVia: 'hypercall_flush_all',
      pinAliasFlushAt: { ...PRESETS['linux-2.6.28'].pinAliasFlushAt, mm_pin_all: 'never' },
    });
  });
});

describe('did you mean (issue 17)', () => {
  it('a near knob, knob value or preset is suggested; a name like none gets the list alone', () => {
    expect(() => makePolicy('linux-2.6.28', ['pinAliasFlsh=never'])).toThrow(/unknown knob "pinAliasFlsh" \(did you mean "pinAliasFlush"\?\); knobs: /);
    expect(() => makePolicy('linux-2.6.28', ['kernelFlushVia=hypercall_flushall'])).toThrow(/got "hypercall_flushall" \(did you mean "hypercall_flush_all"\?\)/);
    expect(() => makePolicy('linux-2.6.82')).toThrow(/\(did you mean "linux-2\.6\.28"\?\)/);
    expect(() => makePolicy('zzzz')).toThrow(/unknown policy preset "zzzz"; presets: /);
  });
});
