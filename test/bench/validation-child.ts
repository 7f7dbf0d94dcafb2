// §2 Validation speed in a child process of its own: a clean JIT. In the bench's process the
// hypervisor's hot functions arrive here already compiled for the replay section's varied mix
// (polymorphic), which moved the pin's ratio between 9 and 12 from run to run. Prints the figures
// as one JSON line. Run by bench.ts: node --import tsx validation-child.ts ROUNDS
import { validationSpeed } from './validation.ts';

const rounds = Number(process.argv[2]);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: node --import tsx validation-child.ts ROUNDS');
  process.exit(2);
}
process.stdout.write(JSON.stringify(validationSpeed(rounds)) + '\n');
