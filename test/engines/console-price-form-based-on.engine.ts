/**
 * The console's price form keeps the rates in force, read again as the row is written. Another change of the model
 * landing between that read and the write (another operator, through another replica) would be undone for good by
 * the rates the form carried: the form names the row it read (`based_on`), the gateway refuses the write (409
 * price_changed), and the operator is told, with the other change kept.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('a price changed between the form\'s read and its write is refused and kept, and the operator is told', async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:formed', input_per_million: 1, output_per_million: 1 })).status).toBe(201)

  const { context, page } = await signedInConsole(browser, gw)
  // The other operator's change lands just before the form's POST reaches the gateway.
  let posted: any = null
  await page.route('**/v1/pricing', async (route) => {
    if (route.request().method() !== 'POST') return route.continue()
    posted = route.request().postDataJSON()
    expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:formed', input_per_million: 10, output_per_million: 1 })).status).toBe(201)
    await route.continue()
  })
  await page.evaluate(() => ((globalThis as any).location.hash = '#/prices?model=mock:formed'))
  await page.getByTestId('price-keeps').waitFor({ timeout: 10_000 })
  await page.getByLabel('Output USD / 1M tokens').fill('2')
  await page.getByRole('button', { name: 'Add price' }).click()
  const alert = page.getByRole('alert')
  await alert.waitFor({ timeout: 10_000 })
  const said = await alert.innerText()
  await context.close()

  const inForce = (await gw.admin('GET', '/v1/pricing/mock:formed')).body
  expect({ basedOn: typeof posted?.based_on, said: said.includes('changed since'), input: inForce.input_per_million, output: inForce.output_per_million })
    .toEqual({ basedOn: 'number', said: true, input: 10, output: 1 })
}, 60_000)
