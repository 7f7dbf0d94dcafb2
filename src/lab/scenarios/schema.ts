// The scenario file format (JSON): vCPUs, starting state, per-vCPU programs of kernel operations,
// and the outcome each policy should give. Validated with zod so a bad file names the field.

import { z } from 'zod';
import type { Op } from '../../../guest/ops.ts';

/** The most operations in one program, or in `setup` (docs/limits.md). */
export const MAX_PROGRAM_OPS = 4096;
/** The most vCPUs (and so programs) of a scenario. */
export const MAX_VCPUS = 64;

const name = z.string().min(1).max(64);
const pages = z.number().int().min(1).max(1 << 20);

export const OpSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('vmalloc'), name, pages }).strict(),
  z.object({ op: z.literal('vfree'), name }).strict(),
  z.object({ op: z.literal('vm_map_ram'), name, pages: z.number().int().min(1).max(4096) }).strict(),
  z.object({ op: z.literal('vm_unmap_ram'), name }).strict(),
  z.object({ op: z.literal('vm_unmap_aliases') }).strict(),
  z.object({ op: z.literal('__vm_unmap_aliases'), allow_flush: z.boolean() }).strict(),
  z.object({ op: z.literal('unmap_kernel_range'), name }).strict(),
  z.object({ op: z.literal('touch'), name, write: z.boolean().optional() }).strict(),
  z.object({ op: z.literal('local_irq_disable') }).strict(),
  z.object({ op: z.literal('local_irq_enable') }).strict(),
  z.object({ op: z.literal('spawn'), name, pages: z.number().int().min(1).max(512).optional() }).strict(),
  z.object({ op: z.literal('fork'), parent: name, child: name }).strict(),
  z.object({ op: z.literal('exec'), name, pages: z.number().int().min(1).max(512).optional() }).strict(),
  z.object({ op: z.literal('exec_fail'), name }).strict(),
  z.object({ op: z.literal('pgd_alloc'), name }).strict(),
  z.object({ op: z.literal('use_mm'), mm: name }).strict(),
  z.object({ op: z.literal('lazy_leave_mm'), mm: name }).strict(),
  z.object({ op: z.literal('fault'), mm: name, count: z.number().int().min(1).max(500).optional() }).strict(),
  z.object({ op: z.literal('exit'), mm: name }).strict(),
  z.object({ op: z.literal('flush_tlb_mm'), mm: name }).strict(),
  z.object({ op: z.literal('suspend') }).strict(),
  z.object({ op: z.literal('vmalloc_init') }).strict(),
  z.object({ op: z.literal('alloc_pte_init_mm') }).strict(),
  z.object({ op: z.literal('kill_aliases'), site: z.enum(['pgd_pin', 'alloc_ptpage', 'mm_pin_all', 'create_contiguous']).optional() }).strict(),
  z.object({ op: z.literal('create_contiguous'), pages: z.number().int().min(1).max(512) }).strict(),
  z.object({ op: z.literal('barrier'), name, count: z.number().int().min(1).max(64) }).strict(),
  z.object({ op: z.literal('free_pte'), mm: name }).strict(),
]);

export const OutcomeSchema = z.enum(['completed', 'deadlock', 'bug']);

/**
 * What a policy should give: the outcome, and optionally counts the verdict must show. The outcome
 * is left out where it depends on the interleaving (a race): `explore` then says what is reachable.
 */
export const ExpectationSchema = z
  .object({
    outcome: OutcomeSchema.optional(),
    va_hazards: z.enum(['none', 'some']).optional(),
    warnings: z.enum(['none', 'some']).optional(),
    ipis: z.enum(['none', 'some']).optional(),
    pins_refused: z.enum(['none', 'some']).optional(),
    /**
     * What `explore` must find over every interleaving under this policy: a deadlock, a BUG or a
     * VA hazard `reachable` (some schedule gives it) or `never` (no schedule does: the search must
     * be exhaustive to say so). Checked by `explore` and `xensim test`; `run` ignores it.
     */
    explore: z
      .object({
        deadlock: z.enum(['reachable', 'never']).optional(),
        bug: z.enum(['reachable', 'never']).optional(),
        hazard: z.enum(['reachable', 'never']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const ScenarioSchema = z
  .object({
    name,
    title: z.string().max(200),
    /** What the scenario shows, in a few sentences (linux-guest.md §6). */
    description: z.string().max(4000),
    vcpus: z.number().int().min(1).max(MAX_VCPUS),
    memory_pages: z.number().int().min(256).max(1 << 22).default(2048),
    vmalloc_pages: z.number().int().min(512).max(1 << 22).default(4096),
    vmalloc_initialized: z.boolean().default(true),
    /** The policy the scenario runs under unless the command line says otherwise. */
    policy: z.string().max(200).default('linux-2.6.28'),
    /** knob=value settings applied on top of the policy. */
    set: z.array(z.string().max(200)).max(256).default([]),
    /** Run on vCPU 0 before the programs start (must not block). */
    setup: z.array(OpSchema).max(MAX_PROGRAM_OPS).default([]),
    programs: z.array(z.array(OpSchema).max(MAX_PROGRAM_OPS)).min(1).max(MAX_VCPUS),
    /** Expected verdicts by policy label (see src/lab/scenarios/policies.ts), checked by the tests. */
    expect: z.record(z.string(), ExpectationSchema).default({}),
  })
  .strict();

export type Scenario = z.infer<typeof ScenarioSchema>;
export type Expectation = z.infer<typeof ExpectationSchema>;

/** The parsed ops are the guest's Op type. */
export function opsOf(s: Scenario): { setup: Op[]; programs: Op[][] } {
  return { setup: s.setup as Op[], programs: s.programs as Op[][] };
}
