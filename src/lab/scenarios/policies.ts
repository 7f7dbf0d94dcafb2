// Policy specs on the command line and in scenario files: a preset or a purge-flush label, then
// knob=value settings, joined by commas — "never", "linux-2.6.37",
// "force,kernelFlushVia=hypercall_flush_all". The four labels of the seed's question (default,
// force, if_needed, never) set pinAliasFlush on the scenario's own preset.

import { makePolicy, PolicyError, PRESET_NAMES, type Policy } from '../../../guest/policy.ts';
import { didYouMean } from '../../../guest/suggest.ts';

export const FLUSH_LABELS = ['default', 'force', 'if_needed', 'never'] as const;
/** What `compare` runs by default: the seed patch's question. */
export const SEED_QUESTION = ['force', 'if_needed', 'never', 'default'] as const;

export interface ResolvedPolicy {
  /** The spec as given (the verdict's `policy` field). */
  label: string;
  policy: Policy;
}

/** Resolves a spec against the scenario's preset and settings; extra settings come last. */
export function resolvePolicy(spec: string, scenarioPreset: string, scenarioSet: readonly string[], extra: readonly string[] = []): ResolvedPolicy {
  const [head, ...knobs] = spec.split(',').map((s) => s.trim());
  const base = head === undefined || head === '' ? scenarioPreset : head;
  const isLabel = (FLUSH_LABELS as readonly string[]).includes(base);
  if (!isLabel && !(PRESET_NAMES as readonly string[]).includes(base)) {
    const known = [...PRESET_NAMES, ...FLUSH_LABELS];
    throw new PolicyError(`unknown policy preset "${base}"${didYouMean(base, known)}; presets: ${PRESET_NAMES.join(', ')}; purge-flush labels: ${FLUSH_LABELS.join(', ')}`);
  }
  const preset = isLabel ? scenarioPreset : base;
  const settings = [...scenarioSet, ...(isLabel ? [`pinAliasFlush=${base}`] : []), ...knobs, ...extra];
  return { label: spec === '' ? scenarioPreset : spec, policy: makePolicy(preset, settings) };
}

export function policyHelp(): string {
  return `a preset (${PRESET_NAMES.join(', ')}) or a purge-flush label (${FLUSH_LABELS.join(', ')}), then ,knob=value …`;
}
