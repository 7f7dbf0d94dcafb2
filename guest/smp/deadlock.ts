// The wait-for graph: when no vCPU can make progress, who waits for whom — an IPI acknowledgement
// from a vCPU with interrupts off, a lock someone holds, a vCPU that will not park, a stop_machine
// master — and the cycle among them, each waiter with its kernel call chain. Reported instead of
// hanging.

import type { WaitEdge } from '../events.ts';
import type { Wait } from './co.ts';
import type { Cpu } from './cpu.ts';

export function waitEdges(cpus: readonly Cpu[], waits: readonly (Wait | null)[]): WaitEdge[] {
  const edges: WaitEdge[] = [];
  cpus.forEach((c, i) => {
    const w = waits[i];
    if (!w) return;
    const chain = [...c.chain];
    switch (w.kind) {
      case 'spin':
        if (w.lock.owner !== null) {
          edges.push({ vcpu: c.id, waitsFor: w.lock.owner, why: `spins on ${w.lock.name} held by vCPU${w.lock.owner}`, chain });
        }
        break;
      case 'ack':
        for (const t of w.csd.pending) {
          const off = !cpus[t]!.irqsEnabled;
          edges.push({
            vcpu: c.id,
            waitsFor: t,
            why: `waits for vCPU${t} to ack IPI ${w.csd.func}${off ? ` (vCPU${t} has interrupts off)` : ''}`,
            chain,
          });
        }
        break;
      case 'stop_wait':
        for (const t of cpus) {
          if (t.id !== c.id && !w.stop.parked.has(t.id)) {
            edges.push({ vcpu: c.id, waitsFor: t.id, why: `waits for vCPU${t.id} to park for stop_machine`, chain });
          }
        }
        break;
      case 'parked':
        edges.push({
          vcpu: c.id,
          waitsFor: w.stop.master,
          why: `parked with interrupts off by stop_machine on vCPU${w.stop.master}`,
          chain,
        });
        break;
      case 'barrier':
        for (const t of cpus) {
          if (!w.barrier.arrived.has(t.id) && w.barrier.arrived.size < w.barrier.count) {
            edges.push({ vcpu: c.id, waitsFor: t.id, why: `waits at barrier ${w.barrier.name} for vCPU${t.id}`, chain });
          }
        }
        break;
      case 'preempt':
        break;
    }
  });
  return edges;
}

/** A cycle in the wait-for graph (in order, starting at its lowest vCPU), or null. */
export function findCycle(edges: readonly WaitEdge[]): WaitEdge[] | null {
  const out = new Map<number, WaitEdge[]>();
  for (const e of edges) out.set(e.vcpu, [...(out.get(e.vcpu) ?? []), e]);
  const starts = [...out.keys()].sort((a, b) => a - b);
  for (const start of starts) {
    const path: WaitEdge[] = [];
    const seen = new Set<number>();
    const dfs = (v: number): boolean => {
      if (v === start && path.length > 0) return true;
      if (seen.has(v)) return false;
      seen.add(v);
      for (const e of out.get(v) ?? []) {
        path.push(e);
        if (dfs(e.waitsFor)) return true;
        path.pop();
      }
      return false;
    };
    if (dfs(start)) return path;
  }
  return null;
}
