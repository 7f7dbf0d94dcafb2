// §3 Scale, measured in a child process of its own (a clean heap): create a domain of `frames`
// frames and report the memory it added (V8 heap plus array buffers, after full collections) and
// the time creation took, as one JSON line on stdout. Run by scale.ts; needs --expose-gc.
import { Hypervisor } from '../../hypervisor/index.ts';

const frames = Number(process.argv[2]);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !Number.isInteger(frames) || frames < 1) {
  console.error('usage: node --expose-gc --import tsx scale-child.ts FRAMES');
  process.exit(2);
}

const used = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

// Warm the code paths (and their allocations) on a tiny machine first.
new Hypervisor().createDomain({ domid: 1, vcpus: 2, base: 0x100, count: 64 });
const hv = new Hypervisor();
const before = used();
const t0 = performance.now();
hv.createDomain({ domid: 1, vcpus: 2, base: 0x100, count: frames });
const ms = performance.now() - t0;
const after = used();
// Keep the hypervisor alive past the measurement.
if (!hv.hasDomain(1)) process.exit(1);
// The baseline: what the frame table says it holds (uniform chunks, materialized chunks, pages):
// the process's growth against it shows the counter the bounds test trusts is honest.
const arrays = hv.frameTableBytes;
process.stdout.write(JSON.stringify({ frames, bytes: after - before, arrays, ms }) + '\n');
