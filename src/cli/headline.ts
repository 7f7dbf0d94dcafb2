// `xensim` with no arguments: the demo and the headline.
/**
 * `npm start` with no arguments: the seed's story in Xen's terms (the hypercalls of the bundled
 * trace, a lazy writable alias blocking a pin), then its headline under each purge-flush policy.
 */
export async function headline(demoTrace: string): Promise<void> {
  const { replay } = await import('../replay/replay.ts');
  const report: string[] = [];
  await replay(demoTrace, { out: { write: (s: string) => void report.push(s) } });
  const calls = report
    .join('')
    .split('\n')
    .filter((l) => /^line \d+\s+(mmuext_op|mmu_update|update_va_mapping|multicall)\b/.test(l));
  process.stdout.write(
    ['A lazy writable alias blocks a pin (examples/seed-alias-blocks-pin.ndjson, replayed on the simulated Xen):', '', ...calls, '', ''].join('\n'),
  );
  const { compare, compareTable } = await import('../lab/compare.ts');
  const { SEED_QUESTION } = await import('../lab/scenarios/policies.ts');
  const scenarios = ['suspend-pin-all-irqs-off', 'cross-vcpu-irqsoff-purge'];
  const policies = [...SEED_QUESTION];
  const { deadlockLines } = await import('../lab/verdict.ts');
  const verdicts = await compare({ scenarios, policies, seeds: [1], workers: 1 });
  process.stdout.write(
    [
      'xensim — the Dec 2008 RFC "vm_unmap_aliases: allow callers to inhibit TLB flush", on a simulated Xen PV guest',
      '',
      'Killing lazy vmalloc aliases with interrupts off, under each purge-flush policy (2 vCPUs, Linux 2.6.28):',
      '',
      compareTable(verdicts, scenarios, policies),
      '',
      ...verdicts
        .filter((v) => v.deadlock)
        .slice(0, 1)
        .flatMap((v) => [`why ${v.scenario} hangs under ${v.policy}:`, ...deadlockLines(v.deadlock!), '']),
      'NEVER (the patch\'s __vm_unmap_aliases(0)) never hangs, but frees virtual ranges that other vCPUs may still',
      'have in their TLBs — Nick Piggin\'s objection, and why the patch was not merged.',
      '',
      'More: xensim run SCENARIO [--policy P]   xensim compare   xensim explore SCENARIO   xensim replay examples/seed-alias-blocks-pin.ndjson',
    ].join('\n') + '\n',
  );
}
