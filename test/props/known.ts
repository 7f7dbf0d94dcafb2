// Known issues the properties found in hypervisor/ (reported, not fixed here: hypervisor/ belongs
// to other engineers). A violation that matches one of them ends its sequence instead of failing
// the CI property — otherwise one known bug would mask every other finding — and is counted in the
// summary line. known-bugs.test.ts keeps each one reproduced (it.fails) with its shrunk trace in
// test/fixtures/shrunk/known-<id>.ndjson. XENSIM_FUZZ_STRICT=1 turns the tolerance off.
import type { Sim } from './sim.ts';
import { Violation } from './sim.ts';

export interface KnownIssue {
  id: string;
  title: string;
  /** The spec sections that disagree (xen-pv-mm.md). */
  spec: string;
  matches(v: Violation, sim: Sim): boolean;
}

const TLB_LINE = /^d(\d+)v\d+ TLB holds a writable translation of va page 0x[0-9a-f]+ to live table 0x([0-9a-f]+)$/;
const FOREIGN_L1_LINE = /^L1 0x([0-9a-f]+) slot \d+: maps foreign mfn 0x([0-9a-f]+)$/;
const IO_L1_LINE = /^L1 0x([0-9a-f]+) slot \d+: maps I\/O mfn 0x[0-9a-f]+ without iomem rights$/;

function privileged(sim: Sim, domid: number | null): boolean {
  return domid !== null && sim.doms.some((d) => d.domid === domid && d.privileged);
}

export const KNOWN_ISSUES: KnownIssue[] = [
  {
    id: 'stale-foreign-tlb',
    title:
      "a privileged domain's stale writable TLB entry to another domain's frame survives that frame becoming the other domain's page table",
    spec: '§1.7 use (a) flushes only the owner\'s dirty vCPUs; §1.8 step 3 / §6 "no CPU may hold a writable translation … of a validated page table"',
    matches(v, sim) {
      const a = v.evidence.audit;
      if (a && a.length > 0) {
        return a.every((line) => {
          const m = TLB_LINE.exec(line);
          if (!m) return false;
          const dom = Number(m[1]);
          return privileged(sim, dom) && sim.hv.frame(parseInt(m[2]!, 16)).owner !== dom;
        });
      }
      const x = v.evidence.access;
      return x !== undefined && privileged(sim, x.dom) && sim.hv.frame(x.mfn).owner !== x.dom;
    },
  },
  {
    id: 'audit-pfd-l1e',
    title:
      "hv.audit() rejects L1 entries a privileged domain legally wrote into an unprivileged domain's page table through PFD: a frame of another domain, or I/O memory",
    spec:
      '§3.2 (foreigndom: FD = owner of the data frames, PFD = owner of the tables) and §2.2 steps 2–3 (the FD\'s rights decide) allow it; ' +
      'audit.ts judges by the L1\'s owner ("maps foreign mfn", "maps I/O mfn … without iomem rights")',
    matches(v, sim) {
      const a = v.evidence.audit;
      if (!a || a.length === 0 || !sim.doms.some((d) => d.privileged)) return false;
      // An unprivileged domain can neither name a foreign FD nor map I/O memory itself (-EPERM), so
      // such an entry in its L1 can only have been put there by a privileged domain's PFD write.
      return a.every((line) => {
        const io = IO_L1_LINE.exec(line);
        if (io) return !privileged(sim, sim.hv.frame(parseInt(io[1]!, 16)).owner);
        const m = FOREIGN_L1_LINE.exec(line);
        if (!m) return false;
        const l1Owner = sim.hv.frame(parseInt(m[1]!, 16)).owner;
        const targetOwner = sim.hv.frame(parseInt(m[2]!, 16)).owner;
        return !privileged(sim, l1Owner) && targetOwner !== null && targetOwner !== l1Owner;
      });
    },
  },
];

export const STRICT = process.env.XENSIM_FUZZ_STRICT === '1';

/** Sequences ended by each known issue (printed in the summary). */
export const knownHits = new Map<string, number>();

/** The known issue an exception is, or undefined (then it is a finding). */
export function knownIssueOf(e: unknown, sim: Sim): KnownIssue | undefined {
  if (!(e instanceof Violation)) return undefined;
  return KNOWN_ISSUES.find((k) => k.matches(e, sim));
}

/** Runs `body`; a violation that is a known issue ends the sequence quietly (unless STRICT). */
export function tolerateKnown(sim: Sim, body: () => void): void {
  try {
    body();
  } catch (e) {
    const k = STRICT ? undefined : knownIssueOf(e, sim);
    if (!k) throw e;
    knownHits.set(k.id, (knownHits.get(k.id) ?? 0) + 1);
  }
}

export function knownLine(): string {
  if (knownHits.size === 0) return 'no known issue hit';
  return `sequences ended by known issues: ${[...knownHits].map(([k, n]) => `${k} ×${n}`).join(', ')}`;
}
