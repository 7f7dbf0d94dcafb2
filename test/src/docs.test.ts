// The documentation stands alone: a clone of the repository (what a newcomer gets) holds every file
// README.md and docs/ link to, no page names a path outside the repository, and every knob the
// guest accepts is described in docs/knobs.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knobList } from '../../guest/policy.ts';
import { repo } from './built.ts';

let clone = '';
beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'xensim-docs-'));
  execFileSync('git', ['clone', '-q', repo, clone], { stdio: 'ignore' });
});
afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

/** The Markdown pages a newcomer reads, as paths relative to the repository. */
function pages(root: string): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** Every link target of a page: [text](target) and <a href="target">, without #anchors. */
function links(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)|href="([^"]+)"/g)) out.push((m[1] ?? m[2])!);
  return out;
}

describe('README.md and docs/', () => {
  it('every relative link resolves to a file inside a fresh clone', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of pages(clone)) {
      const text = readFileSync(join(clone, page), 'utf8');
      for (const target of links(text)) {
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue; // URLs and anchors
        const path = resolve(dirname(join(clone, page)), target.split('#')[0]!);
        checked++;
        const inside = !relative(clone, path).startsWith('..');
        if (!inside || !existsSync(path)) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(5);
  });

  it('no page names a machine path or the project-internal spec folder', () => {
    const offending: string[] = [];
    for (const page of pages(clone)) {
      const lines = readFileSync(join(clone, page), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/\/work\/|shared\/spec|\.\.\/shared\b|\/home\/|\/root\//.test(line)) offending.push(`${page}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offending).toEqual([]);
  });

  it('docs/knobs.md describes every knob the guest accepts', () => {
    const text = readFileSync(join(clone, 'docs/knobs.md'), 'utf8');
    const missing = knobList()
      .map((k) => k.name)
      .filter((name) => {
        const dot = name.indexOf('.');
        // per-site overrides are listed as `pinAliasFlushAt.pgd_pin`, `.alloc_ptpage`, …
        return dot < 0 ? !text.includes(`\`${name}\``) : !text.includes(`.${name.slice(dot + 1)}\``);
      });
    expect(missing).toEqual([]);
  });
});
