/**
 * The console's daily charts are labelled UTC ("Daily spend by model, last 30 days (UTC)") and each bar is a UTC
 * day, placed at its UTC midnight; but uPlot draws the time axis in the browser's own timezone. An operator in
 * Los Angeles sees every bar beside the previous day's date, 8 hours off its tick (the legend's day, in UTC,
 * disagrees with the axis); in Auckland (UTC+13) each date label is drawn nearer the bar of the day before it.
 * The axis must be drawn in UTC: the same whatever the browser's timezone.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { recordCanvasText, signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

/** The date labels the Overview's charts draw on its canvas (its axes' labels), with where. */
async function axisLabels(timezoneId: string) {
  const { context, page } = await signedInConsole(browser, gw, { timezoneId }, recordCanvasText)
  await page.getByRole('figure', { name: /Daily spend by model/ }).locator('canvas').waitFor({ timeout: 10_000 })
  await page.waitForLoadState('networkidle')
  await Bun.sleep(500)
  const drawn = await page.evaluate(() => (globalThis as any).__drawn as Array<[string, number]>)
  await context.close()
  // The x axes (this chart's and the refusals chart's): labels holding a date (uPlot writes days as M/D), each
  // once, in order, whichever chart was drawn first and however often.
  return [...new Set(drawn.filter(([text]) => /\d+\/\d+/.test(text)).map(([text, x]) => `${text} at x=${x}`))].sort()
}

test('the daily chart, labelled UTC, draws the same day labels at the same places in Los Angeles and Auckland as in UTC', async () => {
  const { secret } = await gw.userWithKey({ id: 'chart-team', max_budget: 5 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
  })
  expect(res.status).toBe(200)
  await res.text()
  await gw.settled()

  const utc = await axisLabels('UTC')
  const elsewhere = { losAngeles: await axisLabels('America/Los_Angeles'), auckland: await axisLabels('Pacific/Auckland') }
  expect(utc.length).toBeGreaterThan(0)
  expect(elsewhere).toEqual({ losAngeles: utc, auckland: utc })
}, 60_000)
