/**
 * The console's price form offered input, output, cached input and per request, always empty, and an empty
 * field meant unset: an operator who changed only a model's input price (the console's own flow) unset its
 * per-request fee and cached-input rate without a word, and every request's fee was billed at $0 from then on.
 * `tollgate prices set --input X` keeps both. The form now shows the rates in force in its fields once the
 * model is looked up, so that an empty field is one the operator emptied, and a field left as shown keeps the
 * rate in force.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('changing only the input price in the console keeps the per-request fee and cached rate in force', async () => {
  // A search model: a fee per request on top of its tokens (Perplexity's Sonar), and a cached-input rate.
  expect((await gw.admin('POST', '/v1/pricing', {
    model: 'mock:sonar', input_per_million: 1, output_per_million: 1, cached_input_per_million: 0.25, per_request: 0.005,
  })).status).toBe(201)

  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/prices?model=mock:sonar'))
  await page.getByRole('heading', { level: 1, name: 'Prices' }).waitFor()
  await page.getByTestId('price-keeps').waitFor({ timeout: 10_000 })
  // The fields show the rates in force.
  const shown = async (label: string) => page.getByLabel(label, { exact: true }).inputValue()
  expect([await shown('Input USD / 1M tokens'), await shown('Output USD / 1M tokens'), await shown('Cached input USD / 1M'), await shown('Per request USD')])
    .toEqual(['1', '1', '0.25', '0.005'])
  expect(await page.getByTestId('price-unsets').count()).toBe(0)

  // The provider raised the input rate: the operator sets input to 3, output as it was, and adds the price.
  await page.getByLabel('Input USD / 1M tokens').fill('3')
  await page.getByLabel('Output USD / 1M tokens').fill('1')
  await page.getByRole('button', { name: 'Add price' }).click()
  await page.getByTestId('price-kept').waitFor({ timeout: 10_000 })
  await context.close()

  const p = (await gw.admin('GET', '/v1/pricing/mock:sonar')).body
  expect({ input: p.input_per_million, per_request: p.per_request, cached: p.cached_input_per_million }).toEqual({
    input: 3, per_request: 0.005, cached: 0.25,
  })
}, 60_000)
