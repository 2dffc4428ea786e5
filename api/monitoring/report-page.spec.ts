import { escapeHtml, histogramSvg, renderReportPage, timelineSvg } from './report-page';
import type { MonitoringReportView } from './monitoring.views';

describe('report page', () => {
  it('escapes what it prints', () => {
    expect(escapeHtml('<script>"x" & \'y\'</script>')).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
  });

  it('draws baseline and current bars as non-empty paths, and timelines as a line', () => {
    const svg = histogramSvg('temp', { kind: 'numeric', edges: [0, 1, 2], reference: [0.5, 0.5], current: [0.1, 0.9] }, true);
    expect(svg).toMatch(/class="baseline" d="M[^"]+Z"/);
    expect(svg).toMatch(/class="current" d="M[^"]+Z"/);
    const line = timelineSvg('error rate', [{ at: '2026-01-01T00:00:00Z', value: 0.1, current: false }, { at: '2026-01-01T01:00:00Z', value: 0.2, current: true }]);
    expect(line).toMatch(/class="line" d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+"/);
    expect(timelineSvg('x', [{ at: 't', value: null, current: true }])).toMatch(/no values yet/);
  });

  it('puts the verdict first and has no external references', () => {
    const view = {
      id: 'r1', model: 'm', windowStart: 'a', windowEnd: 'b', championVersion: 1, samples: 5, status: 'insufficient_data', datasetDrift: null, driftedColumns: [],
      summary: {}, createdAt: 'c', links: { self: '/s', html: '/s/html' }, alerts: [],
      report: { verdict: { headline: 'Not enough data <b>', tone: 'unknown', reasons: ['5 rows'], actions: ['wait'] }, insufficientReason: '5 rows' },
    } as MonitoringReportView;
    const html = renderReportPage(view, [view]);
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf('id="facts"'));
    expect(html).toContain('Not enough data &lt;b&gt;');
    expect(html).not.toMatch(/<(script|link|img)\b|src=|url\(/);
  });
});
