// Renders the chart's Grafana dashboard as a static HTML page with SVG charts
// from the Prometheus data of a test run (a snapshot written by
// test/integration/observability.test.ts). Not Grafana: enough of its layout
// (24-column grid, rows, time series, stats, tables, units, legends, dashed
// threshold overrides) to show what the dashboard shows, for docs/dashboard.png.
import type { Dashboard, Panel, Target } from '../test/support/grafana-dashboard.js';
import { allPanels } from '../test/support/grafana-dashboard.js';
import type { Sample } from '../test/support/prometheus.js';

export interface Snapshot {
  title: string;
  variables: Record<string, string>;
  start: string;
  end: string;
  step: number;
  /** query_range results by "<panel id>/<refId>". */
  results: Record<string, Sample[]>;
}

export const PAGE_WIDTH = 1600;
const ROW_HEIGHT = 30; // Grafana's height of one grid unit, in pixels
const GAP = 8;
const COLORS = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#fade2a', '#96d98d', '#ffb357', '#ca95e5', '#ff7383'];

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Grafana's legend template: {{label}} from the series' labels. */
export const legend = (format: string | undefined, metric: Record<string, string>) =>
  format ? format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, l: string) => metric[l] ?? '') : JSON.stringify(metric);

/** A value in a panel's unit, short: 12.3 ms, 4.5 req/s, 75%. */
export function formatValue(v: number, unit: string | undefined): string {
  if (!Number.isFinite(v)) return String(v);
  const short = (x: number) => {
    const a = Math.abs(x);
    if (a >= 1e6) return `${+(x / 1e6).toFixed(1)}M`;
    if (a >= 1e3) return `${+(x / 1e3).toFixed(1)}k`;
    if (a === 0) return '0';
    if (a < 0.01) return x.toExponential(1);
    return `${+x.toFixed(a < 1 ? 3 : a < 10 ? 2 : 1)}`;
  };
  switch (unit) {
    case 's':
      if (v === 0) return '0 s';
      if (Math.abs(v) < 1e-3) return `${+(v * 1e6).toFixed(0)} µs`;
      if (Math.abs(v) < 1) return `${+(v * 1e3).toFixed(v < 0.01 ? 2 : 1)} ms`;
      return `${short(v)} s`;
    case 'percentunit':
      return `${+(v * 100).toFixed(1)}%`;
    case 'percent':
      return `${+v.toFixed(1)}%`;
    case 'reqps':
      return `${short(v)} req/s`;
    case 'ops':
      return `${short(v)} ops/s`;
    default:
      return short(v);
  }
}

interface Line {
  name: string;
  color: string;
  dashed: boolean;
  unit: string | undefined;
  points: [number, number][];
}

/** The series of a target; an instant target keeps only series still present at the end, as Grafana's instant query would. */
function seriesOf(p: Panel, t: Target, snap: Snapshot): Sample[] {
  const all = snap.results[`${p.id}/${t.refId}`] ?? [];
  if (!t.instant) return all;
  const end = Date.parse(snap.end) / 1000;
  return all.filter((s) => (s.values.at(-1)?.[0] ?? 0) >= end - 2 * snap.step);
}

function linesOf(p: Panel, snap: Snapshot): Line[] {
  const out: Line[] = [];
  for (const t of p.targets ?? []) {
    for (const s of seriesOf(p, t, snap)) {
      const name = legend(t.legendFormat, s.metric);
      const overrides = (p.fieldConfig?.overrides ?? []).filter((o) => o.matcher.id === 'byRegexp' && new RegExp(o.matcher.options).test(name));
      const props = overrides.flatMap((o) => o.properties);
      out.push({
        name,
        color: (props.find((x) => x.id === 'color')?.value as { fixedColor?: string } | undefined)?.fixedColor ?? COLORS[out.length % COLORS.length]!,
        dashed: props.some((x) => x.id === 'custom.lineStyle'),
        unit: (props.find((x) => x.id === 'unit')?.value as string | undefined) ?? p.fieldConfig?.defaults?.unit,
        points: s.values.map(([t2, v]) => [t2, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v)),
      });
    }
  }
  return out;
}

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 16);

function timeSeries(p: Panel, snap: Snapshot, width: number, height: number): string {
  const lines = linesOf(p, snap);
  const legendRows = Math.min(3, Math.ceil(lines.length / 3));
  const plotH = height - 34 - legendRows * 16;
  const left = 74;
  const plotW = width - left - 12;
  if (lines.length === 0) return `<div class="nodata">No data</div>`;
  const t0 = Date.parse(snap.start) / 1000;
  const t1 = Date.parse(snap.end) / 1000;
  const values = lines.flatMap((l) => l.points.map(([, v]) => v));
  let lo = Math.min(...values, p.fieldConfig?.defaults?.min ?? Infinity);
  let hi = Math.max(...values);
  if (lo > 0 && (lo < hi * 0.5 || lo === hi)) lo = 0;
  if (hi === lo) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1);
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v: number) => 6 + plotH - ((v - lo) / (hi - lo)) * plotH;
  const unit = p.fieldConfig?.defaults?.unit;
  let svg = '';
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    svg += `<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${left - 6}" y="${y(v) + 4}" class="tick" text-anchor="end">${escape(formatValue(v, unit))}</text>`;
  }
  const xTicks = plotW < 300 ? 2 : 4; // narrow panels: fewer time labels, so they do not overlap
  for (let i = 0; i <= xTicks; i++) {
    const t = t0 + ((t1 - t0) * i) / xTicks;
    const anchor = i === 0 ? 'start' : i === xTicks ? 'end' : 'middle';
    svg += `<text x="${x(t)}" y="${plotH + 22}" class="tick" text-anchor="${anchor}">${clock(t)}</text>`;
  }
  for (const l of lines) {
    // Break the line where samples are missing (more than two steps apart), as Grafana does.
    const path = l.points.map(([t, v], i) => `${i === 0 || t - l.points[i - 1]![0] > 2.5 * snap.step ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
    svg += `<path d="${path}" stroke="${l.color}" ${l.dashed ? 'stroke-dasharray="8 6"' : ''} class="line"/>`;
  }
  const shown = lines.slice(0, legendRows * 3);
  const legendHtml = shown.map((l) => `<span><i style="background:${l.color}"></i>${escape(l.name)}</span>`).join('') + (lines.length > shown.length ? `<span>+${lines.length - shown.length} more</span>` : '');
  return `<svg width="${width}" height="${plotH + 28}">${svg}</svg><div class="legend">${legendHtml}</div>`;
}

const lastValue = (points: [number, number][]) => points.at(-1)?.[1];

function stat(p: Panel, snap: Snapshot): string {
  const lines = linesOf(p, snap);
  if (lines.length === 0) return `<div class="nodata">No data</div>`;
  return `<div class="stats">${lines
    .map((l) => {
      const v = lastValue(l.points);
      return `<div class="stat"><div class="value" style="color:${l.color}">${v === undefined ? '–' : escape(formatValue(v, l.unit))}</div><div class="name">${escape(l.name)}</div></div>`;
    })
    .join('')}</div>`;
}

function table(p: Panel, snap: Snapshot): string {
  const excluded = new Set(['__name__', 'job', 'instance', 'pod', 'service']);
  const valueHidden = p.type === 'table' && JSON.stringify(p).includes('"Value":true');
  const rows = new Map<string, { labels: Record<string, string>; values: Record<string, number | undefined> }>();
  const targets: Target[] = p.targets ?? [];
  for (const t of targets) {
    for (const s of seriesOf(p, t, snap)) {
      const labels = Object.fromEntries(Object.entries(s.metric).filter(([k]) => !excluded.has(k)));
      const key = JSON.stringify(labels);
      const row = rows.get(key) ?? { labels, values: {} };
      row.values[t.refId] = lastValue(s.values.map(([a, b]) => [a, Number(b)]));
      rows.set(key, row);
    }
  }
  if (rows.size === 0) return `<div class="nodata">No data</div>`;
  const labelNames = [...new Set([...rows.values()].flatMap((r) => Object.keys(r.labels)))];
  // Two targets read as score/threshold pairs; one target's value is just "value".
  const valueNames = valueHidden ? [] : targets.map((t) => /threshold/.test(t.expr) ? 'threshold' : /score/.test(t.expr) ? 'score' : 'value');
  const head = [...labelNames, ...valueNames].map((h) => `<th>${escape(h)}</th>`).join('');
  const body = [...rows.values()]
    .map((r) => `<tr>${labelNames.map((l) => `<td>${escape(r.labels[l] ?? '')}</td>`).join('')}${valueHidden ? '' : targets.map((t) => `<td class="num">${r.values[t.refId] === undefined ? '' : formatValue(r.values[t.refId]!, undefined)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The whole page; its height in pixels is returned for the screenshot's window size. */
export function renderPage(d: Dashboard, snap: Snapshot): { html: string; height: number } {
  const unit = (PAGE_WIDTH - GAP) / 24;
  let bottom = 0;
  const header = 56;
  const boxes = allPanels(d).map((p) => {
    const left = GAP + p.gridPos.x * unit;
    const top = header + p.gridPos.y * ROW_HEIGHT + GAP;
    const width = p.gridPos.w * unit - GAP;
    const height = p.gridPos.h * ROW_HEIGHT - GAP;
    bottom = Math.max(bottom, top + height);
    const style = `left:${left}px;top:${top}px;width:${width}px;height:${height}px`;
    if (p.type === 'row') return `<div class="row" style="${style}">${escape(p.title)}</div>`;
    const content = p.type === 'timeseries' ? timeSeries(p, snap, width - 16, height - 34) : p.type === 'stat' ? stat(p, snap) : table(p, snap);
    return `<div class="panel" style="${style}"><div class="title">${escape(p.title)}</div>${content}</div>`;
  });
  const vars = Object.entries(snap.variables)
    .map(([k, v]) => `<span class="var"><b>${escape(k)}</b> ${escape(v)}</span>`)
    .join('');
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#111217;color:#ccccdc;font:12px "DejaVu Sans",sans-serif;width:${PAGE_WIDTH}px}
.top{position:absolute;left:${GAP}px;top:10px;font-size:18px;color:#fff}
.var{font-size:12px;margin-left:14px;padding:3px 8px;background:#22252b;border-radius:2px;color:#ccccdc}
.panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:2px;box-sizing:border-box;padding:6px 8px;overflow:hidden}
.row{position:absolute;font-size:14px;font-weight:bold;color:#fff;line-height:22px}
.title{font-weight:bold;color:#fff;margin-bottom:6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.grid{stroke:#2c3235;stroke-width:1}.tick{fill:#9fa7b3;font-size:10px}
.line{fill:none;stroke-width:1.5}
.legend{font-size:10px;line-height:16px;white-space:nowrap}.legend span{display:inline-block;margin-right:12px}
.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.stats{display:flex;flex-wrap:wrap;gap:14px;align-items:center;height:80%;justify-content:center}
.stat{text-align:center}.stat .value{font-size:30px;font-weight:bold}.stat .name{color:#9fa7b3}
table{border-collapse:collapse;width:100%;font-size:11px}th{text-align:left;color:#6e9fff;border-bottom:1px solid #2c3235;padding:3px}
td{padding:3px;border-bottom:1px solid #22252b}td.num{text-align:right}
.nodata{color:#6c737a;text-align:center;margin-top:20%}
</style></head><body><div class="top">${escape(d.title)} ${vars}<span class="var">${escape(snap.start.slice(0, 16).replace('T', ' '))} – ${escape(snap.end.slice(11, 16))} UTC</span></div>${boxes.join('')}</body></html>`;
  return { html, height: Math.ceil(bottom + GAP) };
}
