/**
 * A sweep's results as one text table and one HTML matrix: scenario rows, condition columns
 * (protocol · propagation delay · app behaviour), each cell coloured by its failures and linking to
 * its timeline. Pure; the timelines' HTML comes from report.ts.
 */
import { appLabel, conditionKey, conditionLabel, type Condition, type MatrixEntry } from './sweep.js';

/** What one cell shows: the figures of one scenario run under one condition. */
export interface MatrixResult {
  entry: MatrixEntry;
  requests: number;
  failedRequests: number;
  egressCalls: number;
  failedEgress: number;
  podsKilled: number;
  podsTerminated: number;
  /** WebSocket connections cut before the app closed them (counted in failedRequests too). */
  cutConnections?: number;
}

/** Everything that went wrong in a cell: failed requests, failed outbound calls, SIGKILLed pods. */
export function failures(r: MatrixResult): number {
  return r.failedRequests + r.failedEgress + r.podsKilled;
}

/** The cell colours: none failed; a few (≤ 0.1 % of the requests and calls); more. */
export const CELL_COLORS = Object.freeze({ none: '#4c9a2a', few: '#f2a93b', many: '#d62728' });

export function cellColor(r: MatrixResult): string {
  const f = failures(r);
  if (f === 0) return CELL_COLORS.none;
  return f <= Math.max(1, (r.requests + r.egressCalls) / 1000) ? CELL_COLORS.few : CELL_COLORS.many;
}

interface Grid {
  rows: string[];
  cols: Condition[];
  at: Map<string, MatrixResult>;
}

function grid(results: readonly MatrixResult[]): Grid {
  const rows: string[] = [];
  const cols: Condition[] = [];
  const seen = new Set<string>();
  const at = new Map<string, MatrixResult>();
  for (const r of results) {
    if (!rows.includes(r.entry.scenario)) rows.push(r.entry.scenario);
    const k = conditionKey(r.entry.condition);
    if (!seen.has(k)) {
      seen.add(k);
      cols.push(r.entry.condition);
    }
    at.set(`${r.entry.scenario}\u0000${k}`, r);
  }
  return { rows, cols, at };
}

const cellText = (r: MatrixResult) =>
  `${r.failedRequests}/${r.requests} req, ${r.failedEgress}/${r.egressCalls} out${r.podsKilled ? `, ${r.podsKilled} killed` : ''}${r.cutConnections ? `, ${r.cutConnections} cut` : ''}`;

/** One table: a row per scenario and condition (the terminal can't fit a wide matrix). */
export function matrixText(results: readonly MatrixResult[]): string {
  const head = ['scenario', 'protocol', 'delay', 'app', 'failed/requests', 'failed/outbound', 'killed', 'cut'];
  const rows = results.map((r) => [
    r.entry.scenario,
    r.entry.condition.protocol,
    `${r.entry.condition.propagationDelaySeconds}s`,
    appLabel(r.entry.condition),
    `${r.failedRequests}/${r.requests}`,
    `${r.failedEgress}/${r.egressCalls}`,
    `${r.podsKilled}/${r.podsTerminated}`,
    r.cutConnections === undefined ? '-' : String(r.cutConnections),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface MatrixPage {
  title: string;
  /** One line on how the sweep ran (replicas, load, grace). */
  subtitle: string;
  /** Each entry's timeline section (HTML), keyed by entry id; a cell links to `#<id>`. */
  timelines?: ReadonlyMap<string, string>;
}

/** The HTML matrix: scenario rows, condition columns, cells coloured by failures, each linking to its timeline. */
export function matrixHtml(results: readonly MatrixResult[], page: MatrixPage): string {
  const g = grid(results);
  const head = g.cols.map((c) => `<th scope="col">${esc(c.protocol)}<br>${c.propagationDelaySeconds}s<br><span class="sub">${esc(appLabel(c))}</span></th>`).join('');
  const body = g.rows
    .map((scenario) => {
      const cells = g.cols
        .map((c) => {
          const r = g.at.get(`${scenario}\u0000${conditionKey(c)}`);
          if (!r) return '<td class="empty">not run</td>';
          const f = failures(r);
          return `<td class="cell" id="cell-${esc(r.entry.id)}" data-entry="${esc(r.entry.id)}" data-failures="${f}" style="background:${cellColor(r)}" title="${esc(`${scenario} · ${conditionLabel(c)}: ${cellText(r)}`)}"><a href="#${esc(r.entry.id)}">${f === 0 ? '0' : f}<span class="sub">${esc(cellText(r))}</span></a></td>`;
        })
        .join('');
      return `<tr><th scope="row">${esc(scenario)}</th>${cells}</tr>`;
    })
    .join('\n');
  const sections = results
    .map((r) => page.timelines?.get(r.entry.id) ?? `<section id="${esc(r.entry.id)}"><h2>${esc(r.entry.scenario)} · ${esc(conditionLabel(r.entry.condition))}</h2><p>${esc(cellText(r))}; no timeline was recorded.</p></section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(page.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table.matrix{border-collapse:separate;border-spacing:3px}
.matrix th{font-weight:600;padding:4px 8px;text-align:center}.matrix th[scope=row]{text-align:left}
.matrix td{min-width:90px;height:54px;text-align:center;vertical-align:middle;border-radius:3px}
.matrix td a{color:#fff;text-decoration:none;font-size:20px;font-weight:700;display:block}
.matrix td a .sub{display:block;font-size:10px;font-weight:400}
.matrix td.empty{background:#eee;color:#888}.sub{color:inherit;opacity:.85;font-size:11px}
.legend i{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
</style></head><body>
<h1>${esc(page.title)}</h1>
<p>${esc(page.subtitle)}</p>
<p class="legend">Cell: failed requests + failed outbound calls + SIGKILLed pods.<i style="background:${CELL_COLORS.none}"></i>none<i style="background:${CELL_COLORS.few}"></i>≤ 0.1 %<i style="background:${CELL_COLORS.many}"></i>more. Click a cell for its timeline.</p>
<table class="matrix"><thead><tr><th></th>${head}</tr></thead>
<tbody>
${body}
</tbody></table>
${sections}
</body></html>
`;
}
