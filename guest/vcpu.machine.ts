// One vCPU as an xstate actor. The machine owns the vCPU's control state — idle, running kernel
// code, waiting (on a lock, an IPI acknowledgement, stop_machine), crashed after a BUG — and which
// step it takes when the scheduler gives it one: an interrupt if one is pending and deliverable,
// a stop_machine park, the next operation of its program, or the resumption of its current one.
// The kernel code itself runs in the runtime's coroutine (see smp/co.ts).

import { setup } from 'xstate';
import type { VcpuRuntime } from './vcpu-runtime.ts';

export interface VcpuContext {
  rt: VcpuRuntime;
}

export const vcpuMachine = setup({
  types: {
    context: {} as VcpuContext,
    input: {} as { rt: VcpuRuntime },
    events: {} as { type: 'STEP' },
  },
  guards: {
    interruptible: ({ context }) => context.rt.interruptible(),
    mustPark: ({ context }) => context.rt.mustPark(),
    hasWork: ({ context }) => context.rt.hasNextOp(),
    unblocked: ({ context }) => !context.rt.blocked(),
    blocked: ({ context }) => context.rt.blocked(),
    crashed: ({ context }) => context.rt.crashed !== null,
    busy: ({ context }) => context.rt.busy(),
  },
  actions: {
    takeInterrupt: ({ context }) => context.rt.takeInterrupt(),
    startPark: ({ context }) => context.rt.startPark(),
    startOp: ({ context }) => context.rt.startOp(),
    advance: ({ context }) => context.rt.advance(),
  },
}).createMachine({
  id: 'vcpu',
  context: ({ input }) => ({ rt: input.rt }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        STEP: [
          { guard: 'interruptible', actions: 'takeInterrupt', target: 'route' },
          { guard: 'mustPark', actions: ['startPark', 'advance'], target: 'route' },
          { guard: 'hasWork', actions: ['startOp', 'advance'], target: 'route' },
        ],
      },
    },
    running: {
      on: {
        STEP: [
          { guard: 'interruptible', actions: 'takeInterrupt', target: 'route' },
          { actions: 'advance', target: 'route' },
        ],
      },
    },
    waiting: {
      on: {
        STEP: [
          { guard: 'interruptible', actions: 'takeInterrupt', target: 'route' },
          { guard: 'unblocked', actions: 'advance', target: 'route' },
        ],
      },
    },
    route: {
      always: [
        { guard: 'crashed', target: 'crashed' },
        { guard: 'blocked', target: 'waiting' },
        { guard: 'busy', target: 'running' },
        { target: 'idle' },
      ],
    },
    crashed: { type: 'final' },
  },
});
