import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CELL_COLORS, cellColor, matrixHtml, matrixText, type MatrixResult } from '../../src/lab/matrix.js';
import { progressLine, QUICK_AXES, sweepEntries, type SweepAxes } from '../../src/lab/sweep.js';
import { CHROMIUM, colouredCells, readPng, runChromium } from '../helpers/png.js';

const axes: SweepAxes = {
  scenarios: ['no-hold', 'netstat-loop', 'meshdrain'],
  protocols: ['http1', 'http2'],
  propagationDelaysSeconds: [3],
  apps: ['serves-until-exit', 'closes-port'],
};

/** Figures shaped like a sweep's: no-hold fails, netstat-loop is SIGKILLed, meshdrain is clean. */
function results(): MatrixResult[] {
  return sweepEntries(axes).map((entry, i) => {
    const base = { entry, requests: 20_000 + i, egressCalls: 240, podsTerminated: 3 };
    if (entry.scenario === 'no-hold') return { ...base, failedRequests: 40 + i, failedEgress: 90, podsKilled: 0 };
    if (entry.scenario === 'netstat-loop') return { ...base, failedRequests: 0, failedEgress: 0, podsKilled: 3 };
    return { ...base, failedRequests: 0, failedEgress: 0, podsKilled: 0 };
  });
}

describe('sweep matrix', () => {
  it('expands scenarios × protocols × delays × app behaviours with stable ids', () => {
    const e = sweepEntries(axes);
    expect(e).toHaveLength(12);
    expect(e[0]).toEqual({ id: 'no-hold--http1--3s--serves-until-exit', scenario: 'no-hold', condition: { protocol: 'http1', propagationDelaySeconds: 3, app: 'serves-until-exit' } });
    expect(new Set(e.map((x) => x.id)).size).toBe(12);
    expect(sweepEntries(QUICK_AXES).map((x) => x.scenario)).toEqual(['no-hold', 'meshdrain']);
  });

  it('the calls-out axis (ADR 079) doubles the columns, marks its cells; ids without it are unchanged', () => {
    const e = sweepEntries({ ...axes, callsOut: [true, false] });
    expect(e).toHaveLength(24);
    expect(e.slice(0, 2).map((x) => x.id)).toEqual(['no-hold--http1--3s--serves-until-exit--calls-out', 'no-hold--http1--3s--serves-until-exit--no-calls-out']);
    expect(e[1]!.condition).toEqual({ protocol: 'http1', propagationDelaySeconds: 3, app: 'serves-until-exit', callsOut: false });
    expect(new Set(e.map((x) => x.id)).size).toBe(24);
    // A sweep without the axis keeps its ids and columns.
    expect(sweepEntries(axes).map((x) => x.id)).toEqual(sweepEntries({ ...axes }).map((x) => x.id));
    expect(sweepEntries(axes).every((x) => !('callsOut' in x.condition))).toBe(true);
    const r = e.map((entry) => ({ entry, requests: 1000, failedRequests: 0, egressCalls: entry.condition.callsOut ? 80 : 0, failedEgress: 0, podsKilled: 0, podsTerminated: 3 }));
    const t = matrixText(r).split('\n');
    expect(t[1]).toMatch(/^no-hold\s+http1\s+3s\s+serves-until-exit, calls out\s+0\/1000\s+0\/80\s/);
    expect(t[2]).toMatch(/^no-hold\s+http1\s+3s\s+serves-until-exit, no calls out\s+0\/1000\s+0\/0\s/);
    const html = matrixHtml(r, { title: 't', subtitle: 's' });
    expect(html.match(/<td class="cell"/g)).toHaveLength(24);
    expect(html).toContain('<span class="sub">closes-port, no calls out</span></th>');
    expect(html).toContain('href="#meshdrain--http2--3s--closes-port--no-calls-out"');
  });

  it('the progress line estimates the time left from the pace so far', () => {
    expect(progressLine(0, 12, 0, 60_000)).toBe('sweep 0/12 done, ~12m left');
    expect(progressLine(3, 12, 90_000, 60_000)).toBe('sweep 3/12 done, ~4m30s left');
    expect(progressLine(12, 12, 400_000, 60_000)).toBe('sweep 12/12 done, ~0s left');
  });

  it('colours cells by failures and prints one table', () => {
    const r = results();
    expect(cellColor(r[0]!)).toBe(CELL_COLORS.many);
    expect(cellColor(r[4]!)).toBe(CELL_COLORS.few); // 3 SIGKILLs in 20,000 requests
    expect(cellColor(r[8]!)).toBe(CELL_COLORS.none);
    const t = matrixText(r).split('\n');
    expect(t[0]).toMatch(/^scenario\s+protocol\s+delay\s+app\s+failed\/requests/);
    expect(t[1]).toMatch(/^no-hold\s+http1\s+3s\s+serves-until-exit\s+40\/20000\s+90\/240\s+0\/3\s+-$/);
    expect(t).toHaveLength(14);
  });

  it('the HTML has one linked cell per entry, and a section per timeline', () => {
    const r = results();
    const html = matrixHtml(r, { title: 'meshdrain lab sweep', subtitle: 't', timelines: new Map([[r[0]!.entry.id, `<section id="${r[0]!.entry.id}">timeline</section>`]]) });
    expect(html.match(/<td class="cell"/g)).toHaveLength(12);
    for (const x of r) expect(html).toContain(`<a href="#${x.entry.id}">`);
    expect(html).toContain(`<section id="${r[0]!.entry.id}">timeline</section>`);
    expect(html).toContain(`<section id="${r[11]!.entry.id}">`);
  });
});

// ------------------------------------------------------------ a real browser

const chromium = CHROMIUM;
const required = process.env.MESHDRAIN_REQUIRE_ROOT_TESTS === '1';

describe.runIf(!chromium && required)('sweep matrix in Chromium (required)', () => {
  it('has chromium', () => {
    throw new Error('MESHDRAIN_REQUIRE_ROOT_TESTS=1 but chromium is not installed (Debian: apt-get install chromium)');
  });
});

describe.skipIf(!chromium)('sweep matrix in headless Chromium (skipped without chromium: apt-get install chromium)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshdrain-matrix-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = runChromium;
  const r = results();
  const page = join(dir, 'matrix.html');
  writeFileSync(page, matrixHtml(r, { title: 'meshdrain lab sweep', subtitle: '3 replicas' }));

  it('parses to one cell per matrix entry, each linking to its timeline', () => {
    const dom = run(['--dump-dom', `file://${page}`]);
    const ids = [...dom.matchAll(/<td class="cell"[^>]*data-entry="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.sort()).toEqual(r.map((x) => x.entry.id).sort());
    for (const x of r) expect(dom).toContain(`<section id="${x.entry.id}">`);
  }, 120_000);

  it('renders to a PNG showing one coloured cell per entry', () => {
    const png = process.env.MESHDRAIN_KEEP_PNG ?? join(dir, 'matrix.png');
    run([`--screenshot=${png}`, '--window-size=1300,700', `file://${page}`]);
    const img = readPng(readFileSync(png));
    expect(img.width).toBe(1300);
    const counts = colouredCells(img, Object.values(CELL_COLORS));
    const want: Record<string, number> = {};
    for (const x of r) want[cellColor(x)] = (want[cellColor(x)] ?? 0) + 1;
    expect(counts).toEqual(want);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(r.length);
  }, 120_000);
});
