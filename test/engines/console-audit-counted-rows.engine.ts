/**
 * Red team kk. Requests refused before any key was known are counted, one `/v1/audit` row per source, route,
 * method and status per minute, with `count` (README: "20,000 bad-key requests ... now write 4 rows"). The console's
 * Audit page lists those rows but never shows `count` (nor `last_at`): 40 guesses at a key from one address read as
 * one request. The operator watching for a key being guessed sees the attack shrunk to a single line.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('Audit page: a counted row of 40 refused bad-key requests shows its count, as /v1/audit gives it', async () => {
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer tg-guess-${i}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(401)
    await res.text()
  }
  const audit = (await gw.admin('GET', '/v1/audit?status=401')).body
  const counted = audit.data.find((r: any) => r.route.includes('chat/completions'))
  expect(counted.count).toBe(40)

  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/audit'))
  const row = page.getByRole('row').filter({ hasText: '401' }).filter({ hasText: 'chat/completions' })
  await row.first().waitFor({ timeout: 10_000 })
  const shown = {
    rows: await row.count(),
    headers: await page.getByRole('columnheader').allTextContents(),
    // Every cell but the time and the latency (either may hold a 40 by chance).
    text: (await row.first().getByRole('cell').allTextContents()).filter((_, i) => i !== 0 && i !== 4).join(' | '),
  }
  await context.close()

  // The API says 40 requests; the page should say so too (a Count/Requests column, or "×40").
  expect({ rows: shown.rows, countShown: /\b40\b/.test(shown.text) }).toEqual({ rows: 1, countShown: true })
}, 60_000)
