/**
 * The price form fills its rate fields with the price in force once the model is looked up (300 ms after the name
 * is typed, then the lookup's round trip). An operator already in a rate field when that lands had the rate put
 * in front of what they typed next: a 2 prefilled, a 4 typed, and the form sent $24 per million (seen in CI run 43,
 * where Playwright's fill met the lookup). A rate that lands in the focused field is now selected, so the next key
 * replaces it; the operator's own text in any field is still never replaced.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('a rate prefilled into the field the operator is in is replaced by what they type next, not joined to it', async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 1, output_per_million: 2 })).status).toBe(201)

  const { context, page } = await signedInConsole(browser, gw)
  // The lookup held until the operator is in the output field (and has typed 7 into the input field), so that the
  // prefill lands while they are there, however fast this machine runs.
  let answerLookup!: () => void
  const lookupHeld = new Promise<void>((resolve) => (answerLookup = resolve))
  await page.route(/\/v1\/pricing\?.*model=/, async (route) => {
    await lookupHeld
    await route.continue()
  })
  await page.evaluate(() => ((globalThis as any).location.hash = '#/prices'))
  await page.getByRole('heading', { level: 1, name: 'Prices' }).waitFor()
  await page.getByLabel('Model (provider:model)').fill('mock:gpt-mock')
  await page.getByLabel('Input USD / 1M tokens').fill('7')
  await page.getByLabel('Output USD / 1M tokens').focus()
  await page.waitForRequest(/\/v1\/pricing\?.*model=/, { timeout: 10_000 })
  answerLookup()
  await page.getByTestId('price-keeps').waitFor({ timeout: 10_000 })
  const output = page.getByLabel('Output USD / 1M tokens')
  expect(await output.inputValue()).toBe('2')

  await page.keyboard.type('4')
  expect({ input: await page.getByLabel('Input USD / 1M tokens').inputValue(), output: await output.inputValue() }).toEqual({ input: '7', output: '4' })

  const posted = page.waitForResponse((r) => r.url().endsWith('/v1/pricing') && r.request().method() === 'POST', { timeout: 10_000 })
  await page.getByRole('button', { name: 'Add price' }).click()
  expect((await posted).status()).toBe(201)
  await context.close()
  const inForce = (await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body
  expect({ input: inForce.input_per_million, output: inForce.output_per_million }).toEqual({ input: 7, output: 4 })
}, 60_000)

test('a rate prefilled while the operator is in another field is left as shown, for them to edit', async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 1, output_per_million: 2 })).status).toBe(201)

  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/prices'))
  await page.getByRole('heading', { level: 1, name: 'Prices' }).waitFor()
  await page.getByLabel('Model (provider:model)').fill('mock:gpt-mock')
  await page.getByTestId('price-keeps').waitFor({ timeout: 10_000 })
  // The operator clicks after the 2 and types a 5: 25, as in any text field.
  const output = page.getByLabel('Output USD / 1M tokens')
  await output.click()
  await page.keyboard.press('End')
  await page.keyboard.type('5')
  expect(await output.inputValue()).toBe('25')
  await context.close()
}, 60_000)
