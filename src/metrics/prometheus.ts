/**
 * Just enough of the Prometheus text format for the gateway's own metrics: labelled counters and
 * histograms kept in plain maps, and gauges read when scraped. No dependency, nothing on the hot path
 * but a map update: a series is found by its label values alone (callers pass the labels of one metric
 * in one order), and the text with its escaping is made only when scraped.
 *
 * Every metric holds at most `maxSeries` label sets: callers label by bounded values, and this is the
 * backstop, so that no value a client chose can grow the scrape (or the memory) without end. Past the
 * bound, a new label set is counted under one series whose every label is `other`; nothing is dropped.
 */
type Labels = Record<string, string>

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}

/** The map key of a series: its label values, joined by a character no label value of ours contains. */
const seriesKey = (labels: Labels) => {
  let key = ''
  for (const name in labels) key += labels[name] + '\u0000'
  return key
}

export const OTHER = 'other'
const DEFAULT_MAX_SERIES = 1_000

const overflowLabels = (labels: Labels): Labels => {
  const other: Labels = {}
  for (const name in labels) other[name] = OTHER
  return other
}

/** The series of `labels` in `series`, made with `create` if new, or the overflow series once the map is full. */
function seriesOf<S>(series: Map<string, S>, maxSeries: number, labels: Labels, create: (labels: Labels) => S): S {
  let key = seriesKey(labels)
  let s = series.get(key)
  if (s) return s
  if (series.size >= maxSeries) {
    labels = overflowLabels(labels)
    key = seriesKey(labels)
    s = series.get(key)
    if (s) return s
  }
  series.set(key, (s = create(labels)))
  return s
}

interface Metric {
  render(): string
}

/**
 * Counts whole numbers of `1 / perUnit` of the unit its name says (micro-USD for a USD counter, `perUnit` 1e6), and
 * divides once when scraped: a sum of integers stays exact, where one of fractions drifts with every increment.
 */
export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>()
  private readonly maxSeries: number
  private readonly perUnit: number
  constructor(private readonly name: string, private readonly help: string, options: { maxSeries?: number; perUnit?: number } = {}) {
    this.maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES
    this.perUnit = options.perUnit ?? 1
  }

  inc(labels: Labels = {}, by = 1): void {
    seriesOf(this.values, this.maxSeries, labels, (labels) => ({ labels, value: 0 })).value += by
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`
    for (const { labels, value } of this.values.values()) out += `${this.name}${labelText(labels)} ${value / this.perUnit}\n`
    return out
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>()
  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
    private readonly maxSeries = DEFAULT_MAX_SERIES,
  ) {}

  observe(labels: Labels, value: number): void {
    const s = seriesOf(this.series, this.maxSeries, labels, (labels) => ({ labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }))
    // Counted in the first bucket that holds the value only; the cumulative counts are summed when scraped.
    let i = 0
    while (i < this.buckets.length && value > this.buckets[i]!) i++
    if (i < this.buckets.length) s.counts[i]!++
    s.sum += value
    s.count++
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0
      this.buckets.forEach((le, i) => (out += `${this.name}_bucket${labelText({ ...labels, le: String(le) })} ${(cumulative += counts[i]!)}\n`))
      out += `${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}\n`
      out += `${this.name}_sum${labelText(labels)} ${sum}\n${this.name}_count${labelText(labels)} ${count}\n`
    }
    return out
  }
}

export class Gauge implements Metric {
  constructor(private readonly name: string, private readonly help: string, private readonly read: () => number) {}

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${this.read()}\n`
  }
}

/** A counter kept elsewhere (by the part that counts), read when scraped. */
export class CounterRead implements Metric {
  constructor(private readonly name: string, private readonly help: string, private readonly read: () => number) {}

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n${this.name} ${this.read()}\n`
  }
}

export class Registry {
  private readonly metrics: Metric[] = []

  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric)
    return metric
  }

  render(): string {
    return this.metrics.map((m) => m.render()).join('')
  }
}
