/**
 * A monitoring report as one self-contained HTML page (inline CSS and SVG, no scripts, no external assets), for a
 * person to read at a glance: the verdict on top with why and what to do, then baseline-against-current
 * histograms of each drifting feature and of the predictions, data quality, operations, online quality, and
 * metric timelines over the recent windows. Pure: the report view in, the page out.
 */
import type { MonitoringReportSummaryView, MonitoringReportView } from './monitoring.views';

type Histogram = { kind: 'numeric'; edges: number[]; reference: number[]; current: number[] } | { kind: 'categorical'; categories: string[]; reference: number[]; current: number[] };

interface ColumnRow {
  column: string;
  kind: string;
  status: string;
  method: string | null;
  score: number | null;
  threshold: number | null;
  psi: number | null;
  reason?: string;
  histogram?: Histogram;
}

interface ReportDoc {
  verdict?: { headline: string; tone: string; reasons: string[]; actions: string[] };
  samples?: number;
  requests?: number;
  insufficientReason?: string | null;
  reference?: { version: number; trainingRows: number; sampledRows: number; evaluationRows: number } | null;
  drift?: { columns: ColumnRow[]; shareOfDriftedColumns: number | null; driftShare: number; testedColumns: number } | null;
  predictionDrift?: ColumnRow | null;
  dataQuality?: { columns: { column: string; kind: string; missingRate: number | null; trainingMissingRate: number; outOfRangeShare?: number | null; unseenShare?: number | null; unseenExamples?: string[]; issues: string[] }[]; schemaViolations: { count: number; examples: { requestId: string; problem: string }[] }; issues: string[] };
  operations?: { version: number | null; requests: number; errors: number; errorRate: number | null; rows: number; requestRate: number; latencyMs: { p50: number | null; p95: number | null; p99: number | null } }[];
  onlineQuality?: { metric: string; online: number | null; evaluation: number | null; labelled: number; minLabelled: number; status: string; reason: string } | null;
}

const TONES: Record<string, { bg: string; fg: string; label: string }> = {
  ok: { bg: '#e6f4ea', fg: '#137333', label: 'OK' },
  warning: { bg: '#fef7e0', fg: '#b06000', label: 'WARNING' },
  alert: { bg: '#fce8e6', fg: '#c5221f', label: 'ALERT' },
  unknown: { bg: '#eceff1', fg: '#455a64', label: 'INSUFFICIENT DATA' },
};

export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  return Number(x.toPrecision(digits)).toString();
}

const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);

/** Baseline (grey) against current (colour) shares per bin or category, as bar paths. */
export function histogramSvg(title: string, h: Histogram, drifted: boolean): string {
  const W = 420;
  const H = 170;
  const pad = { l: 36, r: 8, t: 22, b: 34 };
  const n = h.reference.length;
  if (!n) return `<p class="muted">${escapeHtml(title)}: no values to plot</p>`;
  const max = Math.max(1e-9, ...h.reference, ...h.current);
  const bw = (W - pad.l - pad.r) / n;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const bars = (values: number[], offset: number, width: number) =>
    values
      .map((v, i) => {
        const x0 = pad.l + i * bw + offset;
        return `M${x0.toFixed(1)},${(H - pad.b).toFixed(1)}V${y(v).toFixed(1)}H${(x0 + width).toFixed(1)}V${(H - pad.b).toFixed(1)}Z`;
      })
      .join('');
  const labels =
    h.kind === 'categorical'
      ? h.categories.map((c, i) => `<text x="${(pad.l + (i + 0.5) * bw).toFixed(1)}" y="${H - pad.b + 12}" text-anchor="middle" font-size="9">${escapeHtml(c.length > 10 ? `${c.slice(0, 9)}…` : c)}</text>`).join('')
      : `<text x="${pad.l}" y="${H - pad.b + 12}" font-size="9">${num(h.edges[0])}</text><text x="${W - pad.r}" y="${H - pad.b + 12}" text-anchor="end" font-size="9">${num(h.edges[h.edges.length - 1])}</text>`;
  const colour = drifted ? '#d93025' : '#1a73e8';
  return `<figure class="chart histogram" data-column="${escapeHtml(title)}">
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(`${title}: training baseline against the current window`)}">
<text x="${pad.l}" y="14" font-size="12" font-weight="bold">${escapeHtml(title)}${drifted ? ' — drifted' : ''}</text>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#999"/>
<text x="${pad.l - 4}" y="${pad.t + 4}" text-anchor="end" font-size="9">${pct(max)}</text>
<path class="baseline" d="${bars(h.reference, bw * 0.08, bw * 0.42)}" fill="#9aa0a6"/>
<path class="current" d="${bars(h.current, bw * 0.5, bw * 0.42)}" fill="${colour}"/>
${labels}
<rect x="${W - 150}" y="6" width="10" height="10" fill="#9aa0a6"/><text x="${W - 136}" y="15" font-size="10">training</text>
<rect x="${W - 80}" y="6" width="10" height="10" fill="${colour}"/><text x="${W - 66}" y="15" font-size="10">this window</text>
</svg></figure>`;
}

/** One metric over the recent windows (oldest left), the current report's point marked. */
export function timelineSvg(title: string, points: { at: string; value: number | null; current: boolean }[], format: (v: number) => string = num): string {
  const W = 420;
  const H = 140;
  const pad = { l: 44, r: 10, t: 22, b: 22 };
  const present = points.filter((p): p is { at: string; value: number; current: boolean } => p.value !== null && Number.isFinite(p.value));
  if (!present.length) return `<figure class="chart timeline empty"><figcaption>${escapeHtml(title)}: no values yet</figcaption></figure>`;
  let lo = Math.min(...present.map((p) => p.value));
  let hi = Math.max(...present.map((p) => p.value));
  if (hi === lo) {
    hi += Math.abs(hi) * 0.1 || 1;
    lo -= Math.abs(lo) * 0.1 || 0;
  }
  const x = (i: number) => pad.l + (points.length === 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (points.length - 1));
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - (v - lo) / (hi - lo));
  const segments: string[] = [];
  let pen = 'M';
  points.forEach((p, i) => {
    if (p.value === null || !Number.isFinite(p.value)) {
      pen = 'M';
      return;
    }
    segments.push(`${pen}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
    pen = 'L';
  });
  const dots = points
    .map((p, i) => (p.value === null || !Number.isFinite(p.value) ? '' : `<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="${p.current ? 5 : 2.5}" fill="${p.current ? '#d93025' : '#1a73e8'}"><title>${escapeHtml(`${p.at}: ${format(p.value)}`)}</title></circle>`))
    .join('');
  return `<figure class="chart timeline">
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">
<text x="${pad.l}" y="14" font-size="12" font-weight="bold">${escapeHtml(title)}</text>
<text x="${pad.l - 4}" y="${pad.t + 4}" text-anchor="end" font-size="9">${escapeHtml(format(hi))}</text>
<text x="${pad.l - 4}" y="${H - pad.b}" text-anchor="end" font-size="9">${escapeHtml(format(lo))}</text>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#999"/>
<path class="line" d="${segments.join('')}" fill="none" stroke="#1a73e8" stroke-width="2"/>
${dots}
<text x="${pad.l}" y="${H - 6}" font-size="9">${escapeHtml(points[0].at.slice(0, 16).replace('T', ' '))}</text>
<text x="${W - pad.r}" y="${H - 6}" text-anchor="end" font-size="9">${escapeHtml(points[points.length - 1].at.slice(0, 16).replace('T', ' '))}</text>
</svg></figure>`;
}

function table(headers: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderReportPage(view: MonitoringReportView, recent: MonitoringReportSummaryView[]): string {
  const doc = view.report as ReportDoc;
  const verdict = doc.verdict ?? { headline: view.status, tone: 'unknown', reasons: [], actions: [] };
  const tone = TONES[verdict.tone] ?? TONES.unknown;
  const columns = doc.drift?.columns ?? [];
  const drifting = columns.filter((c) => c.status === 'drift');
  const sections: string[] = [];

  sections.push(`<section id="verdict" class="verdict" style="background:${tone.bg};border-left:8px solid ${tone.fg}">
<div class="badge" style="background:${tone.fg}">${tone.label}</div>
<h1 id="verdict-headline" style="color:${tone.fg}">${escapeHtml(verdict.headline)}</h1>
<h3>Why</h3><ul id="why">${verdict.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>
<h3>What to do</h3><ul id="what-to-do">${verdict.actions.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>
</section>`);

  const facts = [
    ['Window', `${escapeHtml(view.windowStart)} → ${escapeHtml(view.windowEnd)}`],
    ['Champion', view.championVersion === null ? 'none' : `v${view.championVersion}`],
    ['Prediction rows', `${view.samples}${doc.requests !== undefined ? ` in ${doc.requests} request(s)` : ''}`],
    ['Reference', doc.reference ? `${doc.reference.sampledRows} of ${doc.reference.trainingRows} training rows; ${doc.reference.evaluationRows} test-split predictions` : '–'],
    ['Drifted features', doc.drift ? `${drifting.length} of ${doc.drift.testedColumns} tested (${pct(doc.drift.shareOfDriftedColumns)}; data set drifts at ${pct(doc.drift.driftShare)})` : 'not tested'],
  ];
  sections.push(`<section id="facts">${table(['', ''], facts.map(([k, v]) => [`<b>${escapeHtml(k)}</b>`, v]), 'facts')}</section>`);

  if (doc.drift) {
    const charts = drifting.filter((c) => c.histogram).map((c) => histogramSvg(c.column, c.histogram!, true));
    const pred = doc.predictionDrift;
    sections.push(`<section id="drifting-features"><h2>Drifting features</h2>${charts.length ? `<div class="charts">${charts.join('')}</div>` : '<p class="muted">No feature drifted in this window.</p>'}</section>`);
    if (pred?.histogram) sections.push(`<section id="prediction-drift"><h2>Predictions</h2><p>${escapeHtml(pred.status === 'drift' ? 'The prediction distribution drifted from evaluation time' : pred.status === 'no_drift' ? 'The prediction distribution matches evaluation time' : `Not tested: ${pred.reason ?? ''}`)} (${escapeHtml(pred.method ?? '–')}, score ${num(pred.score)}, threshold ${num(pred.threshold)}).</p><div class="charts">${histogramSvg('predictions', pred.histogram, pred.status === 'drift')}</div></section>`);
    sections.push(`<section id="feature-drift"><h2>Feature drift</h2>${table(
      ['feature', 'kind', 'status', 'test', 'score', 'threshold', 'PSI'],
      columns.map((c) => [escapeHtml(c.column), escapeHtml(c.kind), `<span class="status ${escapeHtml(c.status)}">${escapeHtml(c.status.replace('_', ' '))}</span>${c.reason ? ` <span class="muted">${escapeHtml(c.reason)}</span>` : ''}`, escapeHtml(c.method ?? '–'), num(c.score), num(c.threshold), num(c.psi)]),
    )}</section>`);
  } else if (doc.insufficientReason) {
    sections.push(`<section id="feature-drift"><h2>Feature drift</h2><p class="muted">Not tested: ${escapeHtml(doc.insufficientReason)}</p></section>`);
  }

  if (doc.dataQuality) {
    const dq = doc.dataQuality;
    sections.push(`<section id="data-quality"><h2>Data quality</h2>${dq.issues.length ? `<ul class="issues">${dq.issues.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>` : '<p class="muted">No issues.</p>'}${table(
      ['feature', 'missing', 'missing in training', 'outside training range', 'unseen categories'],
      dq.columns.map((c) => [escapeHtml(c.column), pct(c.missingRate), pct(c.trainingMissingRate), c.kind === 'numeric' ? pct(c.outOfRangeShare) : '–', c.kind === 'categorical' ? `${pct(c.unseenShare)}${c.unseenExamples?.length ? ` (${escapeHtml(c.unseenExamples.join(', '))})` : ''}` : '–']),
    )}<p>Schema violations: ${dq.schemaViolations.count}${dq.schemaViolations.examples.length ? ` — e.g. ${escapeHtml(dq.schemaViolations.examples[0].problem)}` : ''}</p></section>`);
  }

  if (doc.operations?.length) {
    sections.push(`<section id="operations"><h2>Operations</h2>${table(
      ['version', 'requests', 'per minute', 'errors', 'error rate', 'p50 ms', 'p95 ms', 'p99 ms'],
      doc.operations.map((o) => [o.version === null ? 'refused' : `v${o.version}`, String(o.requests), num(o.requestRate), String(o.errors), pct(o.errorRate), num(o.latencyMs.p50), num(o.latencyMs.p95), num(o.latencyMs.p99)]),
    )}</section>`);
  }

  if (doc.onlineQuality) {
    const q = doc.onlineQuality;
    sections.push(`<section id="online-quality"><h2>Online quality</h2><p><b>${escapeHtml(q.metric)}</b>: ${num(q.online, 4)} online on ${q.labelled} labelled prediction(s) against ${num(q.evaluation, 4)} at evaluation — <span class="status ${escapeHtml(q.status)}">${escapeHtml(q.status.replace('_', ' '))}</span>.</p><p class="muted">${escapeHtml(q.reason)}</p></section>`);
  }

  const ordered = [...recent].sort((a, b) => (a.windowEnd < b.windowEnd ? -1 : 1));
  const series = (pick: (r: MonitoringReportSummaryView) => unknown) => ordered.map((r) => ({ at: r.windowEnd, value: typeof pick(r) === 'number' ? (pick(r) as number) : null, current: r.id === view.id }));
  const onlineOf = (r: MonitoringReportSummaryView) => (r.summary.onlineQuality as { online?: number | null } | null)?.online;
  sections.push(`<section id="timelines"><h2>Recent windows</h2><div class="charts">
${timelineSvg('share of drifted features', series((r) => r.summary.driftShare), pct)}
${timelineSvg('prediction rows', series((r) => r.samples))}
${timelineSvg('error rate', series((r) => r.summary.errorRate), pct)}
${timelineSvg('p99 latency (ms)', series((r) => r.summary.p99LatencyMs))}
${timelineSvg(`online ${doc.onlineQuality?.metric ?? 'quality'}`, series(onlineOf))}
</div>${table(
    ['window end', 'status', 'rows', 'drifted features'],
    [...recent].map((r) => [`<a href="${escapeHtml(r.links.html)}">${escapeHtml(r.windowEnd)}</a>`, `<span class="status ${escapeHtml(r.status)}">${escapeHtml(r.status.replace('_', ' '))}</span>`, String(r.samples), escapeHtml(r.driftedColumns.join(', ') || '–')]),
  )}</section>`);

  if (view.alerts.length) {
    sections.push(`<section id="alerts"><h2>Alerts</h2>${table(
      ['kind', 'reason', 'webhook'],
      view.alerts.map((a) => [escapeHtml(a.kind), escapeHtml(a.reason), a.deliveries.length ? a.deliveries.map((d) => escapeHtml(d.deliveredAt ? `delivered after ${d.attempts} attempt(s)` : `${d.attempts} attempt(s), last: ${d.lastError ?? d.lastStatus}`)).join('<br>') : 'not sent']),
    )}</section>`);
  }

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${view.model} monitoring: ${verdict.headline}`)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#202124;margin:0 auto;max-width:1100px;padding:16px 24px}
.verdict{padding:12px 20px;border-radius:6px;margin-bottom:16px}.verdict h1{margin:4px 0 8px;font-size:26px}.verdict h3{margin:8px 0 2px;font-size:14px}
.badge{display:inline-block;color:#fff;font-weight:bold;font-size:11px;padding:2px 8px;border-radius:3px;letter-spacing:.05em}
table{border-collapse:collapse;margin:8px 0;width:100%}th,td{border-bottom:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f8f9fa}
table.facts td{border:none;padding:2px 8px}.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}
.muted{color:#5f6368}.status{font-weight:bold}.status.drift,.status.dropped,.status.quality_drop{color:#c5221f}.status.no_drift,.status.ok{color:#137333}.status.insufficient_data,.status.insufficient_labels{color:#455a64}
h2{font-size:18px;margin:20px 0 6px;border-bottom:2px solid #e0e0e0;padding-bottom:2px}
</style></head>
<body>
<header><div class="muted">mlcycle · monitoring · <b>${escapeHtml(view.model)}</b> · report ${escapeHtml(view.id)}</div></header>
${sections.join('\n')}
</body></html>`;
}
