// `inspect --format xen`: refusals as a Xen debug build prints them (`xl dmesg`).
import { isNum, isObj, isStr, lineKind, type Obj } from '../log/line.ts';
import type { Printer, PrinterOptions } from './printer.ts';


/**
 * Where a Xen debug build's gdprintk of each message sits: xen/arch/x86/mm.c and its line, in the
 * `(XEN) mm.c:LINE:dXvY msg` form `xl dmesg` shows. Three positions are real (xen-pv-mm.md §3.6:
 * 2713 Bad type, 1043 Could not get page type, 1096 Error getting mfn). The others are stable,
 * plausible positions picked for this simulator — in the right function's neighbourhood, in mm.c's
 * order — not looked up in one Xen release: tools may rely on them staying put, people should not
 * go looking for them in a Xen tree. The first pattern that matches wins; a text not listed
 * prints as mm.c:0.
 */
export const XEN_MESSAGE_SITES: ReadonlyArray<readonly [RegExp, string, number]> = [
  [/^Bad L1 flags /, 'mm.c', 1017],
  [/^d\d+ non-privileged attempt to map MMIO space/, 'mm.c', 1024],
  [/^pg_owner d\d+ l1e_owner d\d+, but real_pg_owner/, 'mm.c', 1036],
  [/^Could not get page type /, 'mm.c', 1043], // real
  [/^Error getting mfn /, 'mm.c', 1096], // real
  [/^Attempt to create linear p\.t\. \(feature disabled\)/, 'mm.c', 1150],
  [/^Attempt to create linear p\.t\. with write perms/, 'mm.c', 1157],
  [/^Bad L2 flags /, 'mm.c', 1188],
  [/^Bad L3 flags /, 'mm.c', 1223],
  [/^Bad L4 flags /, 'mm.c', 1258],
  [/^Failure -?\d+ in promote_l1_table/, 'mm.c', 1402],
  [/^Failure -?\d+ in promote_l2_table/, 'mm.c', 1453],
  [/^Failure -?\d+ in promote_l3_table/, 'mm.c', 1522],
  [/^Failure -?\d+ in promote_l4_table/, 'mm.c', 1597],
  [/^L4 update in Xen-private area/, 'mm.c', 2211],
  [/^Could not get page ref for mfn /, 'mm.c', 2561],
  [/^Type count overflow on mfn /, 'mm.c', 2693],
  [/^Bad type \(saw /, 'mm.c', 2713], // real
  [/^Error while validating mfn /, 'mm.c', 2764],
  [/^Error -?\d+ installing new mfn /, 'mm.c', 3254],
  [/^Cannot specify itself as foreign domain/, 'mm.c', 3137],
  [/^Unknown domain d/, 'mm.c', 3149],
  [/^d\d+ may not act on d/, 'mm.c', 3162],
  [/^Error mfn [0-9a-f]+: not owned by/, 'mm.c', 3306],
  [/^Error -?\d+ while pinning mfn /, 'mm.c', 3348],
  [/^mfn [0-9a-f]+ already pinned/, 'mm.c', 3357],
  [/^mfn [0-9a-f]+ bad, or bad owner/, 'mm.c', 3385],
  [/^mfn [0-9a-f]+ not pinned/, 'mm.c', 3392],
  [/^Error while installing new baseptr/, 'mm.c', 3421],
  [/^vcpumask could not be read \(the entry/, 'mm.c', 4437],
  [/^vcpumask could not be read/, 'mm.c', 3468],
  [/^Non-physdev domain tried to FLUSH_CACHE/, 'mm.c', 3502],
  [/^Bad args to SET_LDT/, 'mm.c', 3531],
  [/^Error clearing mfn /, 'mm.c', 3606],
  [/^Error copying from mfn /, 'mm.c', 3641],
  [/^Error copying to mfn /, 'mm.c', 3652],
  [/^Invalid extended pt command/, 'mm.c', 3703],
  [/^Could not get page for normal update/, 'mm.c', 3906],
  [/^L\d update with a foreign data owner/, 'mm.c', 3927],
  [/^mfn [0-9a-f]+ has type .* which mmu_update cannot write/, 'mm.c', 3962],
  [/^Invalid page update command/, 'mm.c', 3988],
  [/^Could not get page for mach->phys update/, 'mm.c', 4012],
  [/^va 0x[0-9a-f]+ is not a guest address/, 'mm.c', 4379],
  [/^no L1 maps va /, 'mm.c', 4386],
  [/^mfn 0x[0-9a-f]+ mapping va .* is not a validated L1/, 'mm.c', 4391],
  [/^steal_page: mfn /, 'mm.c', 4622],
  [/^Could not get page for mfn /, 'memory.c', 352],
  [/^Multicall reentry is disallowed/, 'multicall.c', 51],
];

// The patterns to try for a message, by its first character (export asks for a site on every
// refusal): those whose first character is that literal, or not a plain literal, in their order —
// so the first that matches is the first of all that would.
const BY_FIRST = new Map<string, number[]>();
const ANY_FIRST: number[] = [];
XEN_MESSAGE_SITES.forEach(([re], i) => {
  const c = /^\^([A-Za-z0-9 ,:])(?![?*{])/.exec(re.source)?.[1];
  if (c === undefined || re.flags !== '') ANY_FIRST.push(i);
  else BY_FIRST.set(c, [...(BY_FIRST.get(c) ?? []), i]);
});
for (const [c, list] of BY_FIRST) BY_FIRST.set(c, [...list, ...ANY_FIRST].sort((a, b) => a - b));

/** "mm.c:2713" for a Xen message (see XEN_MESSAGE_SITES). */
export function xenSite(msg: string): string {
  for (const i of BY_FIRST.get(msg.charAt(0)) ?? ANY_FIRST) {
    const [re, file, line] = XEN_MESSAGE_SITES[i]!;
    if (re.test(msg)) return `${file}:${line}`;
  }
  return 'mm.c:0';
}

/** The `xl dmesg` lines of a refusal line (none for other lines, or a refusal Xen printed nothing for). */
export function xenDmesg(o: Obj): string[] {
  const r = o.refusal;
  if (!isObj(r) || !Array.isArray(r.xen)) return [];
  const who = `d${isNum(o.dom) ? o.dom : '?'}v${isNum(o.vcpu) ? o.vcpu : '?'}`;
  return r.xen.filter(isStr).map((m) => `(XEN) ${xenSite(m)}:${who} ${m}`);
}

export function xenPrinter(o: PrinterOptions): Printer {
  let refusals = 0;
  let printed = 0;
  return {
    line(l) {
      // Only refusal lines: a BUG line carries a copy of the refusal that caused it (with no domain
      // of its own), which would print the same messages a second time as d?v0.
      if (lineKind(l.o) !== 'refusal') return '';
      const ls = xenDmesg(l.o);
      refusals++;
      printed += ls.length;
      return ls.map((m) => m + '\n').join('');
    },
    end: () =>
      refusals > 0 && printed === 0
        ? { note: `${o.path}: ${refusals} refusal(s), but Xen printed nothing for them (a release build's log: --xen-build release)` }
        : {},
  };
}
