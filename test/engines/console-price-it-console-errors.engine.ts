/**
 * Red team kk. The day-one workflow the Overview offers for an unpriced model ("Price it", then the Prices form)
 * fills the browser's console with errors: the Prices page looks the model up (`GET /v1/pricing/{model}`, which
 * answers 404 for a model with no price, i.e. every model this workflow is for) once as the name is typed and again
 * as the row is written, and Chromium logs each as "Failed to load resource: ... 404". README ("Tested in a real
 * browser") promises zero console errors on every page; an operator reporting a problem sees errors that are none.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('pricing an unpriced model from the Overview logs no console error', async () => {
  const { secret } = await gw.userWithKey({ id: 'asker' })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:brand-new', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(402)
  await res.text()

  const { context, page } = await signedInConsole(browser, gw)
  const errors: string[] = []
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  page.on('pageerror', (e) => errors.push(e.message))
  await page.evaluate(() => ((globalThis as any).location.hash = '#/overview'))
  await page.getByRole('button', { name: 'Price it' }).click()
  await page.getByRole('heading', { level: 1, name: 'Prices' }).waitFor({ timeout: 10_000 })
  await page.getByTestId('price-keeps').waitFor({ timeout: 10_000 })
  await page.getByLabel('Input USD / 1M tokens').fill('1.5')
  await page.getByLabel('Output USD / 1M tokens').fill('6')
  await page.getByRole('button', { name: 'Add price' }).click()
  await page.getByTestId('price-kept').waitFor({ timeout: 10_000 })
  await page.waitForLoadState('networkidle')
  await context.close()

  // The workflow worked...
  expect((await gw.admin('GET', '/v1/pricing/mock:brand-new')).body.input_per_million).toBe(1.5)
  // ...and should have said nothing in the browser's console.
  expect(errors).toEqual([])
}, 60_000)
