/**
 * The price form sent the model name as typed, surrounding whitespace included (a name pasted from a provider's
 * page or a log line often ends in a space), and the API took "mock:gpt-mock " as a model of its own: the row
 * was added, the In force table listed a second "mock:gpt-mock" that looked the same, and the model the
 * operator meant kept billing at its old price. The form trims the name, as the key form trims each model of
 * its allow-list (and the API refuses such a name: test/admin-model-name-whitespace.test.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'

const CHROMIUM = '/usr/bin/chromium'
let mock: MockProvider
let gw: TestGateway
let browser: Browser

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await gw?.stop()
  await mock?.stop()
})

test('a new price for "mock:gpt-mock " (pasted with a trailing space) reprices mock:gpt-mock, not a model nobody calls', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  await page.goto(`${gw.url}/ui`)
  await page.getByLabel('Master key or your API key').fill(MASTER_KEY)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  await page.evaluate(() => ((globalThis as any).location.hash = '#/prices'))
  await page.getByRole('heading', { level: 1, name: 'Prices' }).waitFor()

  // The provider doubled its prices: the operator raises mock:gpt-mock from $1/$2 to $2/$4 per million.
  await page.getByLabel('Model (provider:model)').fill('mock:gpt-mock ')
  await page.getByLabel('Input USD / 1M tokens').fill('2')
  await page.getByLabel('Output USD / 1M tokens').fill('4')
  const posted = page.waitForResponse((r) => r.url().endsWith('/v1/pricing') && r.request().method() === 'POST', { timeout: 10_000 })
  await page.getByRole('button', { name: 'Add price' }).click()
  await posted
  await context.close()

  const priced = (await gw.admin('GET', '/v1/pricing')).body.data.map((p: any) => p.model)
  const inForce = (await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body
  expect({ priced, input: inForce.input_per_million, output: inForce.output_per_million }).toEqual({
    priced: ['mock:gpt-mock'], input: 2, output: 4,
  })
}, 60_000)
