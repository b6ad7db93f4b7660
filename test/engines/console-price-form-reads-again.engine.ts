/**
 * README (Prices): the form is "filled in with the rates in force once the
 * model is looked up: a field left as shown keeps the rate in force, read again as the row is written". A form that
 * sent every offered field as shown (not only those the operator changed) would write back the rates as they were
 * when the page looked the model up: an output price raised since (the provider's price went up; another admin or
 * `tollgate prices set` raised it) is lowered again by an operator who only changed the input price, and every
 * request from then on is billed below what the provider charges. No browser test changed a rate between the form's
 * prefill and its submit (console-price-form-based-on changes it between the submit's read and its write).
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('a rate raised after the form was prefilled, in a field the operator left as shown, stays raised', async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:raised', input_per_million: 1, output_per_million: 2 })).status).toBe(201)
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/prices?model=mock:raised'))
  await page.getByTestId('price-keeps').waitFor({ timeout: 10_000 })
  const output = page.getByLabel('Output USD / 1M tokens')
  expect(await output.inputValue()).toBe('2')

  // Meanwhile the output price goes up (the provider raised it; the CLI or another admin followed).
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:raised', input_per_million: 1, output_per_million: 8 })).status).toBe(201)

  // This operator changes the input price only.
  await page.getByLabel('Input USD / 1M tokens').fill('1.5')
  const post = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/pricing')
  await page.getByRole('button', { name: 'Add price' }).click()
  const posted = await post
  const sent = posted.request().postDataJSON()
  await context.close()

  const inForce = (await gw.admin('GET', '/v1/pricing/mock:raised')).body
  expect({ status: posted.status(), sentOutput: sent.output_per_million, input: inForce.input_per_million, output: inForce.output_per_million })
    .toEqual({ status: 201, sentOutput: 8, input: 1.5, output: 8 })
}, 60_000)
