/**
 * /v1/usage/daily refuses a since/until range over 366 UTC days (400). The console's Usage page asks for it on every
 * filter it applies and keeps one component across filter changes: a refused range shows its error and no chart (not
 * the previous filter's, labelled "under these filters"), and once the range is corrected the chart is back and the
 * error gone (both once stayed, nothing cleared them).
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('Usage page: a range the API refuses shows its error without the previous filter\'s chart, and the error goes once the range is fixed', async () => {
  const { context, page } = await signedInConsole(browser, gw)

  const chart = page.getByRole('figure', { name: /Spend per day under these filters/ })
  const alert = page.getByRole('alert')
  // The default filter: its chart is drawn.
  await page.evaluate(() => ((globalThis as any).location.hash = '#/usage'))
  await chart.waitFor({ timeout: 10_000 })

  // A mistyped year: the API refuses the range (400), the page says so.
  await page.evaluate(() => ((globalThis as any).location.hash = '#/usage?since=2016-01-01T00:00&until=2026-01-01T00:00'))
  await alert.waitFor({ timeout: 10_000 })
  await page.waitForLoadState('networkidle')
  const wide = { error: (await alert.textContent()) ?? '', staleChartShown: await chart.isVisible() }

  // The range corrected: the chart answers.
  await page.evaluate(() => ((globalThis as any).location.hash = '#/usage?since=2025-06-01T00:00&until=2026-01-01T00:00'))
  await page.waitForLoadState('networkidle')
  await chart.waitFor({ timeout: 10_000 })
  await Bun.sleep(300)
  const fixed = { errorStillShown: await alert.isVisible(), error: (await alert.isVisible()) ? await alert.textContent() : null }

  expect({ wideError: wide.error.includes('366'), staleChartShown: wide.staleChartShown, ...fixed }).toEqual({
    wideError: true, staleChartShown: false, errorStillShown: false, error: null,
  })
  await context.close()
}, 60_000)
