import type uPlot from 'uplot'

const DAY = 86_400

/**
 * A time axis of UTC days, ticked and labelled from UTC dates alone. uPlot's own time axis goes through local
 * `Date`s, even with a UTC `tzDate`: where the browser's clocks change in the night of a UTC midnight
 * (Auckland, Sydney, Beirut), that day's tick was drawn an hour off its bar.
 */
export const utcDayAxis: Pick<uPlot.Axis, 'splits' | 'values'> = {
  // A tick at every k-th UTC midnight from the first in view, k the whole days nearest the step uPlot found
  // room for (at least one).
  splits: (_u, _axis, min, max, foundIncr) => {
    const step = Math.max(1, Math.round(foundIncr / DAY)) * DAY
    const ticks: number[] = []
    for (let t = Math.ceil(min / DAY) * DAY; t <= max; t += step) ticks.push(t)
    return ticks
  },
  // M/D, as uPlot writes days, with the year under the first tick and under the first of each new year.
  values: (_u, ticks) =>
    ticks.map((t, i) => {
      const date = new Date(t * 1000)
      const year = date.getUTCFullYear()
      const newYear = i === 0 || new Date(ticks[i - 1]! * 1000).getUTCFullYear() !== year
      return `${date.getUTCMonth() + 1}/${date.getUTCDate()}${newYear ? `\n${year}` : ''}`
    }),
}
