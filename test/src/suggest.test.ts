// "Did you mean" where a user names something the lab knows: a scenario and a purge-flush label
// (issue 17: a typo got only the list).
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/lab/scenarios/load.ts';
import { resolvePolicy } from '../../src/lab/scenarios/policies.ts';

describe('did you mean', () => {
  it('a scenario name one letter off', () => {
    expect(() => loadScenario('fork-pin-clen')).toThrow(/no such scenario file or built-in scenario \(did you mean "fork-pin-clean"\?\)/);
  });
  it('a purge-flush label one letter off, with the labels listed beside the presets', () => {
    expect(() => resolvePolicy('forse', 'linux-2.6.28', [])).toThrow(/unknown policy preset "forse" \(did you mean "force"\?\); presets: .*; purge-flush labels: default, force, if_needed, never/);
  });
  it('a path is not second-guessed', () => {
    expect(() => loadScenario('nowhere/fork-pin-clen.json')).toThrow(/no such scenario file or built-in scenario \(built-ins: /);
  });
});
