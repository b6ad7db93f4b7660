import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { utcDayAxis } from './utc-day-axis'

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#ca8a04', '#9333ea', '#0891b2', '#ea580c', '#db2777', '#64748b']

interface ChartSeries {
  name: string
  values: number[]
}

/**
 * A daily chart (uPlot). Stacked: each series is drawn as the running total of those before it, the
 * tallest first, so the bars show every part; the legend shows each part's own value.
 */
export function DailyChart(props: { label: string; days: string[]; series: ChartSeries[]; stacked?: boolean; money?: boolean }) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!box.current) return
    const x = props.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000)
    const own = props.series.map((s) => s.values)
    const drawn = props.stacked ? own.map((_, i) => own[0]!.map((_, j) => own.slice(0, i + 1).reduce((sum, v) => sum + (v[j] ?? 0), 0))) : own
    const order = props.stacked ? drawn.map((_, i) => drawn.length - 1 - i) : drawn.map((_, i) => i)
    const format = (v: number | null) => (v === null ? '—' : props.money ? `$${v.toFixed(6).replace(/0{1,4}$/, '')}` : String(v))
    const bars = uPlot.paths.bars!({ size: [0.7, 60] })
    const plot = new uPlot(
      {
        width: Math.max(320, box.current.clientWidth || 640),
        height: 240,
        // Half a day either side, so that the first and last bars are drawn whole.
        scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] } },
        // Each bar is a UTC day and the charts say "(UTC)": the axis is drawn in UTC too, not in the browser's zone.
        axes: [utcDayAxis, { values: (_u, ticks) => ticks.map((t) => (props.money ? `$${t}` : String(t))), size: 80 }],
        series: [
          { label: 'day', value: (_u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)) },
          ...order.map((i) => ({
            label: props.series[i]!.name,
            stroke: COLORS[i % COLORS.length],
            fill: props.stacked ? COLORS[i % COLORS.length] : undefined,
            paths: props.stacked ? bars : undefined,
            width: props.stacked ? 0 : 2,
            value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) => format(idx === null ? null : (own[i]![idx] ?? null)),
          })),
        ],
      },
      [x, ...order.map((i) => drawn[i]!)],
      box.current,
    )
    return () => plot.destroy()
  }, [props.days, props.series, props.stacked])
  return <figure class="chart" aria-label={props.label}><figcaption>{props.label}</figcaption><div ref={box} /></figure>
}
