/**
 * The price form sent the model name as typed, surrounding whitespace included (a name pasted from a provider's
 * page or a log line often ends in a space), and the API took "mock:gpt-mock " as a model of its own: the row
 * was added, the In force table listed a second "mock:gpt-mock" that looked the same, and the model the
 * operator meant kept billing at its old price. So too "mock: gpt-mock" (the space after the provider's
 * separator). The form drops that whitespace, as the key form does for each model of its allow-list (and the
 * API refuses such a name: test/admin-model-name-whitespace.test.ts, test/admin-model-part-whitespace.test.ts).
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

/** The price form filled and sent as an operator does, the model spelt `typed`. */
async function addPrice(typed: string, input: string, output: string) {
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/prices'))
  await page.getByRole('heading', { level: 1, name: 'Prices' }).waitFor()
  await page.getByLabel('Model (provider:model)').fill(typed)
  // As the operator sees it: the price in force looked up, its rates in the fields, before the new ones are typed. A
  // fill as that lookup lands (300 ms after the name) put its "4" after the "2" it prefilled: $24 (CI run 43).
  await page.getByTestId('price-keeps').waitFor()
  await page.getByLabel('Input USD / 1M tokens').fill(input)
  await page.getByLabel('Output USD / 1M tokens').fill(output)
  const posted = page.waitForResponse((r) => r.url().endsWith('/v1/pricing') && r.request().method() === 'POST', { timeout: 10_000 })
  await page.getByRole('button', { name: 'Add price' }).click()
  await posted
  await context.close()
}

// The provider raised its prices, and the operator raises mock:gpt-mock (from $1/$2 per million) each time,
// the name typed otherwise each time.
const SPELLINGS: Array<[string, number, number]> = [
  ['mock:gpt-mock ', 2, 4], // pasted with a trailing space
  ['mock: gpt-mock', 3, 6], // written as "provider: model"
  ['mock /\u00a0gpt-mock', 4, 8], // a no-break space after the separator, as some pages set it
]

for (const [typed, input, output] of SPELLINGS) {
  test(`a new price for ${JSON.stringify(typed)} reprices mock:gpt-mock, not a model nobody calls`, async () => {
    await addPrice(typed, String(input), String(output))
    const priced = (await gw.admin('GET', '/v1/pricing')).body.data.map((p: any) => p.model)
    const inForce = (await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body
    expect({ priced, input: inForce.input_per_million, output: inForce.output_per_million }).toEqual({ priced: ['mock:gpt-mock'], input, output })
  }, 60_000)
}
