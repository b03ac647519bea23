/**
 * A minimal Prometheus registry (counters, gauges, histograms) rendered in the text exposition format 0.0.4.
 * Written here because no Prometheus client package is installed; it covers exactly what the server exports.
 */

type Labels = Record<string, string>;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

interface Metric {
  render(): string;
}

abstract class LabelledMetric<S> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly labelNames: readonly string[] = [],
  ) {}

  protected stateFor(labels: Labels): S {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let entry = this.series.get(key);
    if (!entry) {
      const own: Labels = {};
      for (const n of this.labelNames) own[n] = labels[n] ?? '';
      entry = { labels: own, state: this.initial() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  protected abstract initial(): S;
  protected abstract samples(labels: Labels, state: S): string[];

  render(): string {
    const lines = [
      `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
      `# TYPE ${this.name} ${this.type}`,
    ];
    for (const { labels, state } of this.series.values()) lines.push(...this.samples(labels, state));
    return lines.join('\n') + '\n';
  }
}

export class Counter extends LabelledMetric<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'counter', labelNames);
    if (labelNames.length === 0) this.stateFor({});
  }
  protected initial() {
    return { value: 0 };
  }
  inc(labels: Labels = {}, amount = 1): void {
    this.stateFor(labels).value += amount;
  }
  get(labels: Labels = {}): number {
    return this.stateFor(labels).value;
  }
  protected samples(labels: Labels, state: { value: number }): string[] {
    return [`${this.name}${labelText(labels)} ${formatNumber(state.value)}`];
  }
}

/** A gauge whose value is read when rendered (queue depth and the like live elsewhere). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${formatNumber(this.read())}\n`;
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends LabelledMetric<HistogramState> {
  readonly buckets: readonly number[];

  constructor(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []) {
    super(name, help, 'histogram', labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
    if (labelNames.length === 0) this.stateFor({});
  }
  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
  }
  observe(value: number, labels: Labels = {}): void {
    const state = this.stateFor(labels);
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) state.counts[i]!++;
    state.sum += value;
    state.count++;
  }
  /** Count and sum of one series (tests and the Retry-After estimate read these). */
  snapshot(labels: Labels = {}): { count: number; sum: number } {
    const state = this.stateFor(labels);
    return { count: state.count, sum: state.sum };
  }
  protected samples(labels: Labels, state: HistogramState): string[] {
    const lines = this.buckets.map(
      (le, i) => `${this.name}_bucket${labelText(labels, ['le', formatNumber(le)])} ${state.counts[i]}`,
    );
    lines.push(`${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${state.count}`);
    lines.push(`${this.name}_sum${labelText(labels)} ${formatNumber(state.sum)}`);
    lines.push(`${this.name}_count${labelText(labels)} ${state.count}`);
    return lines;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }
}
