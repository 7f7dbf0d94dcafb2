// xensim test (src/testrun/): the project's own examples and scenarios pass; a wrong expect fails
// with its name; the JUnit XML is valid against a JUnit schema (xmllint-wasm: libxml2's xmllint
// compiled to WebAssembly); TAP has a line per case.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { runTests, type TestOptions } from '../../src/testrun/test.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(repo, 'examples');
const SCENARIOS = join(repo, 'src/lab/scenarios');
const XSD = readFileSync(join(repo, 'test/fixtures/junit.xsd'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'xensim-test-'));

async function tested(paths: string[], o: TestOptions = {}) {
  let out = '';
  const r = await runTests(paths, { out: { write: (s: string) => (out += s) }, ...o });
  return { ...r, out };
}

/** A copy of the seed scenario with one wrong expectation (never: completed, but no hazard). */
function wrongScenario(): string {
  const s = JSON.parse(readFileSync(join(SCENARIOS, 'suspend-pin-all-irqs-off.json'), 'utf8')) as { name: string; expect: Record<string, unknown> };
  s.name = 'wrong-expect';
  s.expect = { never: { outcome: 'completed', va_hazards: 'none', explore: { hazard: 'never' } }, force: s.expect.force };
  const p = join(dir, 'wrong-expect.json');
  writeFileSync(p, JSON.stringify(s, null, 2));
  return p;
}

function wrongTrace(): string {
  const text = readFileSync(join(EXAMPLES, 'seed-alias-blocks-pin.ndjson'), 'utf8').replace('"expect":{"rc":-22', '"expect":{"rc":0');
  const p = join(dir, 'wrong.ndjson');
  writeFileSync(p, text);
  return p;
}

describe('xensim test', () => {
  it('examples and the built-in scenarios pass, on two threads', async () => {
    const r = await tested([EXAMPLES, SCENARIOS], { jobs: 2 });
    expect(r.results.filter((c) => !c.ok).map((c) => [c.name, c.failures])).toEqual([]);
    expect(r.exit).toBe(0);
    expect(r.results.length).toBeGreaterThan(40);
    expect(r.out).toMatch(/^ok {3}.*seed-alias-blocks-pin\.ndjson$/m);
    expect(r.out).toContain(`${r.results.length} cases: ${r.results.length} passed, 0 failed`);
  });

  it('a wrong expect fails with its name: the scenario, the policy and the expectation', async () => {
    const r = await tested([wrongScenario(), wrongTrace()], { jobs: 1 });
    expect(r.exit).toBe(1);
    expect(r.out).toMatch(/^FAIL .*wrong-expect\.json \[never\]$/m);
    expect(r.out).toContain('va_hazards: expected none, got 1');
    expect(r.out).toMatch(/^FAIL .*wrong-expect\.json \[never\] explore$/m);
    expect(r.out).toMatch(/explore\.hazard: expected never, found in 1 of 1 schedules/);
    expect(r.out).toMatch(/^ok {3}.*wrong-expect\.json \[force\]$/m);
    expect(r.out).toMatch(/^ok {3}.*wrong-expect\.json \[force\] explore$/m);
    expect(r.out).toMatch(/^FAIL .*wrong\.ndjson$/m);
    expect(r.out).toMatch(/line \d+: mmuext_op expected \{"rc":0/);
    expect(r.out).toContain('5 cases: 2 passed, 3 failed');
  });

  it('--reporter junit: valid JUnit XML, the failure under its case', async () => {
    const r = await tested([EXAMPLES, wrongScenario()], { reporter: 'junit', jobs: 1 });
    const v = await validateXML({ xml: [{ fileName: 'report.xml', contents: r.out }], schema: [{ fileName: 'junit.xsd', contents: XSD }] });
    expect(v.errors).toEqual([]);
    expect(v.valid).toBe(true);
    expect(r.out).toMatch(/<testcase classname="[^"]*wrong-expect\.json" name="[^"]*wrong-expect\.json \[never\]">\s*<failure message="va_hazards: expected none, got 1"/);
    // …and the schema is not a rubber stamp: a case without a name is refused
    const bad = await validateXML({ xml: [{ fileName: 'bad.xml', contents: r.out.replace(/ name="[^"]*wrong-expect\.json \[never\]"/, '') }], schema: [{ fileName: 'junit.xsd', contents: XSD }] });
    expect(bad.valid).toBe(false);
  });

  it('--reporter tap: a plan, a line per case, the failures in YAML', async () => {
    const r = await tested([wrongScenario()], { reporter: 'tap', jobs: 1 });
    const lines = r.out.split('\n');
    expect(lines.slice(0, 2)).toEqual(['TAP version 13', '1..4']);
    expect(r.out).toMatch(/^not ok 1 - .*wrong-expect\.json \[never\]$/m);
    expect(r.out).toMatch(/^not ok 2 - .*wrong-expect\.json \[never\] explore$/m);
    expect(r.out).toMatch(/^ok 3 - .*wrong-expect\.json \[force\]$/m);
  });

  it('a path that does not exist: exit 2', async () => {
    const r = await tested([join(dir, 'nope')]);
    expect(r.exit).toBe(2);
    expect(r.error).toContain('no such file or directory');
  });
});
