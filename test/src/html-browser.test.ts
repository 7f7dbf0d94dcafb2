// `export --html` in a real browser: Debian's headless Chromium driven by playwright-core. The page
// loads from a file with every network request refused, draws one labelled track per vCPU with
// as many slices as the timeline has, shows the summary, and a click on a refused pin shows its
// reason and blocker. Skips (saying why) where no Chromium is installed; .ci/run installs one.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageData, renderHtml, type PageData } from '../../src/export/html.ts';
import { replay } from '../../src/replay/replay.ts';
import { makeLogs, type Logs } from './inspect-logs.ts';


/** Runs in the page: each slice label against its slice, the room before the next slice of its row, and its tooltip. */
const LABEL_REPORT = `(() => {
        const svg = document.getElementById('timeline-svg');
        const D = window.xensim.data;
        const rects = [...svg.querySelectorAll('rect.slice')];
        const byRow = new Map();
        for (const r of rects) {
          const key = r.getAttribute('y');
          (byRow.get(key) ?? byRow.set(key, []).get(key)).push(Number(r.getAttribute('x')));
        }
        const rectOf = new Map(rects.map((r) => [r.getAttribute('data-i'), r]));
        const probe = document.createElementNS('http://www.w3.org/2000/svg', 'text');
        probe.setAttribute('class', 'slabel');
        svg.appendChild(probe);
        const widthOf = (t) => {
          probe.textContent = t;
          return probe.getComputedTextLength();
        };
        const out = { labels: 0, whole: 0, cutButFits: [], overflow: [], untitled: 0 };
        for (const t of [...svg.querySelectorAll('text.slabel[data-i]')]) {
          const i = t.getAttribute('data-i');
          const r = rectOf.get(i);
          const full = D.marks[Number(i)][3];
          const x = Number(r.getAttribute('x'));
          const next = Math.min(...byRow.get(r.getAttribute('y')).filter((v) => v > x + 0.01), Number(svg.getAttribute('width')));
          const room = next - x - 6;
          out.labels++;
          if (t.textContent === full) out.whole++;
          else if (widthOf(full) <= room - 0.5) out.cutButFits.push(full + ' (' + t.textContent + ', room ' + room.toFixed(1) + ')');
          if (x + 3 + t.getComputedTextLength() > next + 0.5) out.overflow.push(full);
        }
        for (const r of rects) if (r.querySelector('title')?.textContent !== D.marks[Number(r.getAttribute('data-i'))][3]) out.untitled++;
        probe.remove();
        return out;
      })()`;

const MULTICALL = join(import.meta.dirname, '../fixtures/export/multicall-refusals.ndjson');

const CHROMIUM = process.env.XENSIM_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!haveChromium) {
  process.stderr.write(`html-browser.test.ts: SKIPPED — no Chromium at ${CHROMIUM} (apt-get install chromium, or set XENSIM_CHROMIUM)\n`);
}

type Ctx = Awaited<ReturnType<typeof import('playwright-core')['chromium']['launchPersistentContext']>>;

describe.skipIf(!haveChromium)(`export --html in headless Chromium (${CHROMIUM})`, () => {
  let logs: Logs;
  let ctx: Ctx;
  const pages: Record<string, { url: string; data: PageData }> = {};

  beforeAll(async () => {
    logs = await makeLogs('xensim-html-');
    const mcLog = join(logs.dir, 'multicall.log');
    const quiet = { write: () => true };
    await replay(MULTICALL, { log: mcLog, out: quiet, err: quiet });
    for (const [name, log] of [
      ['seed', logs.replay.seed!],
      ['deadlock', logs.guest['cross-vcpu-irqsoff-purge']!],
      ['bug', logs.guest['full-block-missed-alias']!],
      ['multicall', mcLog],
      ['storm', logs.guest['fault-storm-with-dirty-block']!],
    ] as const) {
      const data = await pageData(log);
      const file = join(logs.dir, `${name}.html`);
      writeFileSync(file, renderHtml(data));
      pages[name] = { url: pathToFileURL(file).href, data };
    }
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'xensim-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1500, height: 850 },
    });
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
  });

  /** Opens a page; every request that is not the file itself fails the test. */
  async function open(name: string) {
    const page = await ctx.newPage();
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u === pages[name]!.url) return route.continue();
      foreign.push(u);
      return route.abort();
    });
    await page.goto(pages[name]!.url);
    await page.waitForSelector('#timeline-svg');
    return { page, errors, foreign };
  }

  it('the seed example: tracks per vCPU, every slice drawn, the summary beside it; a click on the refused pin shows its reason and blocker', async () => {
    const { page, errors, foreign } = await open('seed');
    const d = pages.seed!.data;
    expect(await page.locator('#labels .track-label').allTextContents()).toEqual(['toolstack, queries', 'vCPU0', 'vCPU1']);
    expect(await page.locator('#labels .proc-label').allTextContents()).toEqual(['Xen', 'd1']);
    expect(await page.locator('#plot rect.slice').count()).toBe(d.marks.filter((m) => m[2] >= 0).length);
    expect(await page.locator('#plot rect.slice.cat-hypercall').count()).toBe(5);
    expect(await page.locator('#plot .instant').count()).toBe(d.marks.filter((m) => m[2] < 0).length);
    expect(await page.locator('#plot .instant.flush').count()).toBe(7); // 4 flushes, 3 of them of both vCPUs
    expect(await page.locator('#plot path.counter').count()).toBe(2);
    expect(await page.locator('#summary').textContent()).toContain('refused: 1 (pins 1, entries 0, other 0)');

    const pin = page.locator('#plot .refused-pin');
    expect(await pin.count()).toBe(1);
    // It is drawn on vCPU0's track, at time 13 (between the 10 and 15 axis ticks).
    const box = (await pin.boundingBox())!;
    expect(box.width).toBeGreaterThan(5);
    await pin.click();
    const details = (await page.locator('#details').textContent())!;
    expect(details).toContain('Refused pin_l1_table mfn 0x1011 (EINVAL)');
    expect(details).toContain('Bad type (saw writable != exp l1) for mfn 0x1011');
    expect(details).toContain('blocker: L1 0x1003 slot 17 maps it writable');
    expect(details).toContain('(XEN) mm.c:2713:d1v0 Bad type (saw e400000000000001 != exp 2000000000000000) for mfn 1011 (pfn 11)');
    expect(await page.locator('#plot .refused-pin.sel').count()).toBe(1);
    await page.screenshot({ path: join(logs.dir, 'seed.png') });

    // Zoom in and out keeps everything drawn.
    await page.click('#zin');
    await page.click('#zin');
    expect(await page.locator('#plot rect.slice').count()).toBe(d.marks.filter((m) => m[2] >= 0).length);
    await page.click('#zfit');
    // A click on an ordinary slice shows its record.
    await page.locator('#plot rect.slice.cat-hypercall').first().click();
    expect(await page.locator('#details').textContent()).toContain('mmuext_op pin_l4_table+new_baseptr');
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('a deadlocked guest run: operations, IPI wait, irqs-off spans and the deadlock are drawn', async () => {
    const { page, errors, foreign } = await open('deadlock');
    expect(await page.locator('#labels .track-label').allTextContents()).toEqual(['toolstack, queries', 'vCPU0', 'vCPU0 irqs off', 'vCPU1', 'vCPU1 irqs off']);
    expect(await page.locator('#plot rect.slice.cat-op').count()).toBe(8);
    expect(await page.locator('#plot rect.slice.cat-ipi').count()).toBe(1);
    expect(await page.locator('#plot rect.slice.cat-irq').count()).toBe(2);
    expect(await page.locator('#plot .instant.deadlock').count()).toBe(3); // the global mark and one per vCPU in the cycle
    expect(await page.locator('#plot .instant.warn').count()).toBe(1);
    expect(await page.locator('#refused-list').textContent()).toBe('none');
    expect(await page.locator('#summary').textContent()).toContain('DEADLOCK');
    // The IPI wait sits inside the operation that sent it (nested one row down).
    const wait = (await page.locator('#plot rect.slice.cat-ipi').boundingBox())!;
    const op = (await page.locator('#plot rect.slice.cat-op', { hasText: 'kill_aliases' }).first().boundingBox())!;
    expect(wait.y).toBeGreaterThan(op.y);
    expect(wait.x).toBeGreaterThanOrEqual(op.x);
    expect(wait.x + wait.width).toBeLessThanOrEqual(op.x + op.width + 0.5);
    await page.screenshot({ path: join(logs.dir, 'deadlock.png') });
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('a guest BUG: the refused pin is listed beside the timeline, and the list link selects it', async () => {
    const { page, errors } = await open('bug');
    const link = page.locator('#refused-list a');
    expect(await link.count()).toBe(1);
    expect(await link.textContent()).toMatch(/pin_l1_table mfn 0x[0-9a-f]+ {2}-EINVAL/);
    await link.click();
    const details = (await page.locator('#details').textContent())!;
    // Xen's L1 and slot, with the guest's VA and owner of the mapping (a guest run's log has them).
    expect(details).toMatch(/blocker: L1 0x[0-9a-f]+ slot \d+ \(va 0x[0-9a-f]+: .+\) maps it writable/);
    expect(details).toContain('Bad type (saw writable != exp l1)');
    expect(await page.locator('#plot .instant.bug').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a multicall whose three refusals share a time: each is drawn apart and each click shows its own refusal', async () => {
    const { page, errors } = await open('multicall');
    const pins = page.locator('#plot .refused-pin');
    expect(await pins.count()).toBe(3);
    const boxes = [];
    for (let k = 0; k < 3; k++) boxes.push((await pins.nth(k).boundingBox())!);
    // No two overlap (before: all three at one spot, only the top one clickable).
    for (let a = 0; a < 3; a++) {
      for (let b = a + 1; b < 3; b++) {
        const [p, q] = [boxes[a]!, boxes[b]!];
        const apart = p.x + p.width <= q.x || q.x + q.width <= p.x || p.y + p.height <= q.y || q.y + q.height <= p.y;
        expect(apart, `refusal marks ${a} and ${b} overlap`).toBe(true);
      }
    }
    // A real mouse click at the centre of each mark selects that refusal.
    const seen = new Set<string>();
    for (let k = 0; k < 3; k++) {
      const b = boxes[k]!;
      await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
      const details = (await page.locator('#details').textContent())!;
      const m = /Refused pin_l1_table mfn (0x[0-9a-f]+)/.exec(details);
      expect(m, details).not.toBeNull();
      seen.add(m![1]!);
      expect(details).toContain('maps it writable');
    }
    expect([...seen].sort()).toEqual(['0x1010', '0x1011', '0x1012']);
    // Still apart once zoomed in, and after fit again.
    await page.click('#zin');
    await page.click('#zfit');
    expect(await page.locator('#plot .refused-pin').count()).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('slice labels: the whole name wherever it fits before the next slice of its row, else cut to what fits; every slice names itself in its tooltip', async () => {
    for (const name of ['deadlock', 'storm']) {
    const { page, errors } = await open(name);
    for (const zoom of [[], ['#zin'], ['#zin', '#zin', '#zin']]) {
      for (const z of zoom) await page.click(z);
      const report = (await page.evaluate(LABEL_REPORT)) as { labels: number; whole: number; cutButFits: string[]; overflow: string[]; untitled: number };
      expect(report.labels, zoom.join()).toBeGreaterThan(0);
      expect(report.cutButFits, zoom.join()).toEqual([]);
      expect(report.overflow, zoom.join()).toEqual([]);
      expect(report.untitled).toBe(0);
    }
    // Zoomed in, kernel operations read whole (they used to be cut to "vmallo…").
    const names = await page.locator('#plot text.slabel').allTextContents();
    if (name === 'deadlock') expect(names.filter((n) => /^vmalloc \S/.test(n) && !n.endsWith('…')).length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
    }
  });
});

if (!haveChromium) {
  describe('export --html in headless Chromium (skipped)', () => {
    it.skip(`skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set XENSIM_CHROMIUM)`, () => {});
  });
}
