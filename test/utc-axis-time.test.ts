/**
 * README "Charts are of UTC days, and so is their time axis, whatever the
 * browser's zone ... a tick at each UTC midnight, or at every few (the same number of days apart) ... labelled
 * month/day"; Keys: "edit expiry (to the second, UTC)"; Usage: since/until are UTC. utc-day-axis.ts was guarded only
 * by browser tests and utc-time.ts by none that run cheaply: here both run in a zone west of UTC, where a local-time
 * slip moves a day or an expiry by hours.
 */
import { afterAll, expect, test } from 'bun:test'
import { utcDayAxis } from '../ui/src/utc-day-axis'
import { isoFromUtcField, utcFieldValue } from '../ui/src/utc-time'

// bun test runs every file in one process: the zone is put back for the files after this one.
const zoneBefore = process.env.TZ
process.env.TZ = 'America/Los_Angeles'
afterAll(() => {
  if (zoneBefore === undefined) delete process.env.TZ
  else process.env.TZ = zoneBefore
})

const DAY = 86_400
const midnight = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 1000
const splits = (min: number, max: number, foundIncr: number) => (utcDayAxis.splits as any)(null, 0, min, max, foundIncr, 0) as number[]
const values = (ticks: number[]) => (utcDayAxis.values as any)(null, ticks, 0, 0, 0) as string[]

test('the test runs west of UTC (a UTC midnight is the day before, locally)', () => {
  expect(new Date(midnight('2026-12-05') * 1000).getDate()).toBe(4)
})

test('a tick at each UTC midnight in view, labelled with its UTC month/day', () => {
  const min = midnight('2026-12-29') - DAY / 2
  const max = midnight('2027-01-02') + DAY / 2
  const ticks = splits(min, max, DAY)
  expect(ticks).toEqual(['2026-12-29', '2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02'].map(midnight))
  expect(values(ticks)).toEqual(['12/29\n2026', '12/30', '12/31', '1/1\n2027', '1/2'])
})

test('across a DST change (8 March 2026 in Los Angeles) the ticks stay on UTC midnights and days', () => {
  const ticks = splits(midnight('2026-03-06') - DAY / 2, midnight('2026-03-10') + DAY / 2, DAY)
  expect(ticks).toEqual(['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10'].map(midnight))
  expect(values(ticks)).toEqual(['3/6\n2026', '3/7', '3/8', '3/9', '3/10'])
})

test('a narrow chart ticks every few whole days, each still a UTC midnight', () => {
  const min = midnight('2026-11-01') - DAY / 2
  const max = midnight('2026-11-30') + DAY / 2
  const ticks = splits(min, max, 2.6 * DAY)
  expect(ticks.length).toBeGreaterThan(5)
  for (const t of ticks) expect(t % DAY).toBe(0)
  const gaps = new Set(ticks.slice(1).map((t, i) => t - ticks[i]!))
  expect([...gaps]).toEqual([3 * DAY])
})

test('a datetime-local field is read as UTC, whatever the zone', () => {
  expect(isoFromUtcField('2026-12-01T10:00')).toBe('2026-12-01T10:00:00.000Z')
  expect(isoFromUtcField('2026-12-01T10:00:30')).toBe('2026-12-01T10:00:30.000Z')
  expect(isoFromUtcField('2026-12-01')).toBeNull()
})

test('an expiry is shown in its field as UTC, to the second', () => {
  expect(utcFieldValue('2026-12-01T10:00:30.250Z')).toBe('2026-12-01T10:00:30')
  expect(utcFieldValue(null)).toBe('')
})
