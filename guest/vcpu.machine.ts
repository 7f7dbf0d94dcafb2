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

// Which state a step leaves the vCPU in (crashed, waiting, running or idle, in that order of
// precedence) is decided by each state's `always` transitions, once the step's actions have run;
// a step that leaves the state as it was (most of them: a running op yielding again) is then one
// targetless transition, one microstep, where a routing state would cost xstate two.
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
    /** Not blocked, and busy (running) or not (idle): the routes after crashed and blocked. */
    runsOn: ({ context }) => !context.rt.blocked() && context.rt.busy(),
    idleNow: ({ context }) => !context.rt.blocked() && !context.rt.busy(),
    notBusy: ({ context }) => !context.rt.busy(),
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
          { guard: 'interruptible', actions: 'takeInterrupt' },
          { guard: 'mustPark', actions: ['startPark', 'advance'] },
          { guard: 'hasWork', actions: ['startOp', 'advance'] },
        ],
      },
      always: [
        { guard: 'crashed', target: 'crashed' },
        { guard: 'blocked', target: 'waiting' },
        { guard: 'busy', target: 'running' },
      ],
    },
    running: {
      on: {
        STEP: [{ guard: 'interruptible', actions: 'takeInterrupt' }, { actions: 'advance' }],
      },
      always: [
        { guard: 'crashed', target: 'crashed' },
        { guard: 'blocked', target: 'waiting' },
        { guard: 'notBusy', target: 'idle' },
      ],
    },
    waiting: {
      on: {
        STEP: [
          { guard: 'interruptible', actions: 'takeInterrupt' },
          { guard: 'unblocked', actions: 'advance' },
        ],
      },
      always: [
        { guard: 'crashed', target: 'crashed' },
        { guard: 'runsOn', target: 'running' },
        { guard: 'idleNow', target: 'idle' },
      ],
    },
    crashed: { type: 'final' },
  },
});
