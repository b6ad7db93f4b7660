/**
 * The daily charts say "(UTC)", and their time axis was drawn with `uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC')`.
 * That shortcut shifts each instant by the browser's offset taken at the instant itself, so where the browser's
 * clocks change between a UTC midnight and the shifted instant (Auckland, Sydney, Beirut: a DST change in their
 * night) the day's tick read 23:00 or 01:00 and uPlot moved it an hour off the bar's UTC midnight. The axis is
 * ticked and labelled from UTC dates alone (ui/src/utc-day-axis.ts). test/engines/console-chart-axis-utc.engine.ts
 * covers the offset itself, over the last 30 days, which need not hold a change.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { recordCanvasText, signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

/** The date labels the Usage page's chart draws for a fixed UTC range, with where. */
async function axisLabels(timezoneId: string, hash: string) {
  const { context, page } = await signedInConsole(browser, gw, { timezoneId }, recordCanvasText)
  await page.getByRole('figure', { name: /Daily spend by model/ }).locator('canvas').waitFor({ timeout: 10_000 })
  await page.waitForLoadState('networkidle')
  await Bun.sleep(300)
  // Only the Usage chart's labels: the Overview's, drawn first, are dropped.
  await page.evaluate((h) => {
    ;(globalThis as any).__drawn.length = 0
    ;(globalThis as any).location.hash = h
  }, hash)
  await page.getByRole('figure', { name: /Spend per day under these filters/ }).locator('canvas').waitFor({ timeout: 10_000 })
  await page.waitForLoadState('networkidle')
  await Bun.sleep(500)
  const drawn = await page.evaluate(() => (globalThis as any).__drawn as Array<[string, number]>)
  await context.close()
  return [...new Set(drawn.filter(([text]) => /\d+\/\d+/.test(text)).map(([text, x]) => `${text} at x=${x}`))].sort()
}

test('a UTC daily chart across a DST change draws the same day labels at the same places in Auckland, Sydney and Beirut as in UTC', async () => {
  // Auckland's and Sydney's clocks went back on 2026-04-05 (14:00 and 16:00 UTC the day before), Beirut's forward
  // at its local midnight on 2026-03-29: in each, one UTC midnight falls on the other side of the change from the
  // instant uPlot's UTC shortcut shifts it to.
  const hash = '#/usage?since=2026-03-24T00:00&until=2026-04-09T00:00'
  const utc = await axisLabels('UTC', hash)
  expect(utc).toContain('4/5 at x=909')
  const zones = ['Pacific/Auckland', 'Australia/Sydney', 'Asia/Beirut']
  const elsewhere: Record<string, string[]> = {}
  for (const zone of zones) elsewhere[zone] = await axisLabels(zone, hash)
  expect(elsewhere).toEqual(Object.fromEntries(zones.map((zone) => [zone, utc])))
}, 120_000)

test('over half a year, ticked every few days, the day labels are the same at the same places in Auckland and Beirut as in UTC', async () => {
  // Both zones change their clocks twice in this range (Auckland in the UTC afternoon, Beirut at its midnight).
  const hash = '#/usage?since=2025-09-01T00:00&until=2026-04-09T00:00'
  const utc = await axisLabels('UTC', hash)
  // Fewer labels than days: the ticks are some days apart, as the width allows.
  expect(utc.length).toBeGreaterThan(5)
  expect(utc.length).toBeLessThan(60)
  const zones = ['Pacific/Auckland', 'Asia/Beirut']
  const elsewhere: Record<string, string[]> = {}
  for (const zone of zones) elsewhere[zone] = await axisLabels(zone, hash)
  expect(elsewhere).toEqual(Object.fromEntries(zones.map((zone) => [zone, utc])))
}, 120_000)
