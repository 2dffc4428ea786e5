/**
 * A small Prometheus client: counters, gauges and histograms with labels, rendered in the text exposition format
 * 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/). Written here rather than taken from
 * prom-client because serving needs only these three types and a scrape-time hook, and every update on the
 * inference path must stay a Map lookup and an add.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text escaping: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label value escaping: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Sample values as Prometheus writes them: integers plainly, +Inf/-Inf/NaN spelled out. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i])}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name '${name}'`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__') || l === 'le') throw new Error(`invalid label name '${l}' on ${name}`);
    }
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  protected keyOf(labels: Labels | undefined): { key: string; values: string[] } {
    const values = this.labelNames.map((n) => {
      const v = labels?.[n];
      if (v === undefined) throw new Error(`metric ${this.name} needs label '${n}'`);
      return String(v);
    });
    // \u0001 cannot occur in an HTTP-derived label value we accept, so it separates unambiguously.
    return { key: values.join('\u0001'), values };
  }

  abstract samples(): string[];

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()];
    return lines.join('\n');
  }
}

/** One series' state; `dropped` once remove() took it out, so a bound handle knows to find (or make) it again. */
interface ScalarCell {
  values: string[];
  value: number;
  dropped?: boolean;
}

/**
 * Drops series from a map: one by key, or all. Marks them dropped, so that a handle bound to one (bind()) adds to a
 * live series again rather than to one no scrape will see.
 */
function dropSeries<C extends { dropped?: boolean }>(series: Map<string, C>, key: string | undefined): void {
  if (key === undefined) {
    for (const cell of series.values()) cell.dropped = true;
    series.clear();
    return;
  }
  const cell = series.get(key);
  if (cell) cell.dropped = true;
  series.delete(key);
}

class ScalarMetric extends Metric {
  readonly type: 'counter' | 'gauge';
  protected readonly series = new Map<string, ScalarCell>();

  constructor(type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames);
    this.type = type;
  }

  protected cell(labels?: Labels): ScalarCell {
    const { key, values } = this.keyOf(labels);
    return this.cellAt(key, values);
  }

  protected cellAt(key: string, values: string[]): ScalarCell {
    let cell = this.series.get(key);
    if (!cell) {
      cell = { values, value: 0 };
      this.series.set(key, cell);
    }
    return cell;
  }

  get(labels?: Labels): number {
    return this.series.get(this.keyOf(labels).key)?.value ?? 0;
  }

  /** Drops one series (a model version that is no longer loaded) or all of them. */
  remove(labels?: Labels): void {
    dropSeries(this.series, labels ? this.keyOf(labels).key : undefined);
  }

  samples(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${formatLabels(this.labelNames, s.values)} ${formatValue(s.value)}`);
  }
}

export class Counter extends ScalarMetric {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super('counter', name, help, labelNames);
  }

  inc(labels?: Labels, by = 1): void {
    this.checkIncrement(by);
    this.cell(labels).value += by;
  }

  /**
   * One series as a handle: inc() without building its labels' key each time. For paths that count the same
   * series at every request (prom-client's `labels()`); it stays valid across remove().
   */
  bind(labels?: Labels): BoundCounter {
    const { key, values } = this.keyOf(labels);
    let cell = this.cellAt(key, values);
    return {
      inc: (by = 1) => {
        this.checkIncrement(by);
        if (cell.dropped) cell = this.cellAt(key, values);
        cell.value += by;
      },
    };
  }

  private checkIncrement(by: number): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot decrease`);
  }
}

export interface BoundCounter {
  inc(by?: number): void;
}

export interface BoundHistogram {
  observe(value: number): void;
}

export class Gauge extends ScalarMetric {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super('gauge', name, help, labelNames);
  }

  set(labels: Labels | undefined, value: number): void {
    this.cell(labels).value = value;
  }

  inc(labels?: Labels, by = 1): void {
    this.cell(labels).value += by;
  }
}

interface HistogramCell {
  values: string[];
  counts: Float64Array;
  sum: number;
  count: number;
  dropped?: boolean;
}

export class Histogram extends Metric {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];
  private readonly series = new Map<string, HistogramCell>();

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    if (!buckets.length || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) {
      throw new Error(`histogram ${name} needs finite, increasing bucket bounds`);
    }
    this.buckets = buckets;
  }

  observe(labels: Labels | undefined, value: number): void {
    const { key, values } = this.keyOf(labels);
    this.add(this.cellAt(key, values), value);
  }

  /** As Counter.bind: one series as a handle, valid across remove(). */
  bind(labels?: Labels): BoundHistogram {
    const { key, values } = this.keyOf(labels);
    let cell = this.cellAt(key, values);
    return {
      observe: (value: number) => {
        if (cell.dropped) cell = this.cellAt(key, values);
        this.add(cell, value);
      },
    };
  }

  private cellAt(key: string, values: string[]): HistogramCell {
    let s = this.series.get(key);
    if (!s) {
      s = { values, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  private add(s: HistogramCell, value: number): void {
    // Per-bucket counts; render() accumulates them into Prometheus' cumulative `le` buckets.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    if (i < this.buckets.length) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  /** count and sum of one series, for tests and summaries */
  get(labels?: Labels): { count: number; sum: number } {
    const s = this.series.get(this.keyOf(labels).key);
    return { count: s?.count ?? 0, sum: s?.sum ?? 0 };
  }

  remove(labels?: Labels): void {
    dropSeries(this.series, labels ? this.keyOf(labels).key : undefined);
  }

  samples(): string[] {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += s.counts[i];
        lines.push(`${this.name}_bucket${formatLabels(this.labelNames, s.values, ['le', formatValue(this.buckets[i])])} ${cumulative}`);
      }
      lines.push(`${this.name}_bucket${formatLabels(this.labelNames, s.values, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${formatLabels(this.labelNames, s.values)} ${formatValue(s.sum)}`);
      lines.push(`${this.name}_count${formatLabels(this.labelNames, s.values)} ${s.count}`);
    }
    return lines;
  }
}

/** A set of metrics rendered together; `beforeScrape` hooks refresh gauges that are read rather than tracked. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  private readonly hooks: (() => void)[] = [];

  register<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is already registered`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, labelNames, buckets));
  }

  beforeScrape(hook: () => void): void {
    this.hooks.push(hook);
  }

  /** The whole exposition, ending in a line feed as the format requires. */
  render(): string {
    for (const hook of this.hooks) hook();
    return [...this.metrics.values()].map((m) => m.render()).join('\n') + '\n';
  }
}

function parseSampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** `name{a="1"}` + worker → `name{a="1",worker="2"}`; `name` → `name{worker="2"}`. */
function withLabel(series: string, label: string, value: string): string {
  const pair = `${label}="${escapeLabelValue(value)}"`;
  return series.endsWith('}') ? `${series.slice(0, -1)},${pair}}` : `${series}{${pair}}`;
}

/**
 * One exposition from the expositions of several processes serving together (node:cluster): counters and
 * histograms are summed series by series, which is what a scrape of one process would have shown had it done all
 * the work; gauges are states of one process (threads busy, versions loaded, start time) that no sum or maximum
 * describes for all of them, so each process's gauge samples are kept, told apart by a `worker` label.
 */
export function mergeExpositions(parts: ReadonlyArray<{ worker: string; text: string }>): string {
  interface Family {
    help?: string;
    type?: string;
    series: Map<string, number>;
  }
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { series: new Map() }));
    return f;
  };
  for (const { worker, text } of parts) {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (!line) continue;
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
        const rest = line.slice(7);
        const name = rest.slice(0, rest.indexOf(' '));
        current = family(name);
        if (line.startsWith('# HELP ')) current.help ??= line;
        else current.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      const at = line.lastIndexOf(' ');
      let series = line.slice(0, at);
      const f = current ?? family(series.split('{', 1)[0]);
      if (!f.type || f.type.endsWith(' gauge') || f.type.endsWith(' untyped')) series = withLabel(series, 'worker', worker);
      f.series.set(series, (f.series.get(series) ?? 0) + parseSampleValue(line.slice(at + 1)));
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help) out.push(f.help);
    if (f.type) out.push(f.type);
    for (const [series, value] of f.series) out.push(`${series} ${formatValue(value)}`);
  }
  return out.join('\n') + '\n';
}
