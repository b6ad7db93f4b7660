/**
 * The console's amount fields were `<input type=number>`: in an English-locale Chromium a comma typed in one is
 * a grouping separator and is dropped, so an operator writing a decimal comma ("1,5", "0,15", as most of Europe
 * writes them) sent ten or a hundred times the amount: a $15 budget for "1,5", $15 per million for "0,15".
 * They are text fields now, read by the CLI's rule (digits with an optional fraction): any other spelling is
 * refused with a message naming the field, and nothing is sent.
 */
import { expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

/** A signed-in console on the page at `hash`, in an English locale; `writes` collects every change it sends. */
async function openConsole(hash: string, heading: string) {
  const { context, page } = await signedInConsole(browser, gw, { locale: 'en-US' })
  const writes: string[] = []
  page.on('request', (r) => r.method() !== 'GET' && writes.push(`${r.method()} ${new URL(r.url()).pathname}`))
  await page.evaluate((h) => ((globalThis as any).location.hash = h), hash)
  await page.getByRole('heading', { level: 1, name: heading }).waitFor()
  return { context, page, writes }
}

/** Types as an operator does, key by key. */
const typeInto = async (page: Page, label: string, text: string) => {
  await page.getByLabel(label, { exact: true }).click()
  await page.keyboard.type(text)
}

test('a user budget typed "1,5" is refused with a message naming the field; no user is created', async () => {
  const { context, page, writes } = await openConsole('#/users', 'Users')
  const form = page.getByRole('form', { name: 'New user' })
  await form.getByLabel('User id').fill('comma-team')
  await typeInto(page, 'Budget (USD)', '1,5')
  await page.keyboard.press('Enter')
  await form.getByRole('alert').filter({ hasText: 'Budget (USD) must be an amount in USD in digits' }).waitFor({ timeout: 10_000 })
  await context.close()
  expect(writes).toEqual([])
  expect((await gw.admin('GET', '/v1/users/comma-team')).status).toBe(404)
}, 60_000)

test('an input price typed "0,15" per million is refused with a message naming the field; the model stays unpriced', async () => {
  const { context, page, writes } = await openConsole('#/prices', 'Prices')
  await page.getByLabel('Model (provider:model)').fill('mock:gpt-comma')
  await typeInto(page, 'Input USD / 1M tokens', '0,15')
  await typeInto(page, 'Output USD / 1M tokens', '0,60')
  await page.keyboard.press('Enter')
  await page.getByRole('alert').filter({ hasText: 'Input USD / 1M tokens must be an amount in USD in digits' }).waitFor({ timeout: 10_000 })
  await context.close()
  expect(writes).toEqual([])
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-comma')).status).toBe(404)
}, 60_000)

test('a key budget "1,5" and a rate limit "1,5" are refused; a key budget "1.5" is sent as 1.5', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'comma-keys' })).status).toBe(201)
  const { context, page, writes } = await openConsole('#/keys?user_id=comma-keys', 'Keys of comma-keys')
  const form = page.getByRole('form', { name: 'New key' })
  const alert = form.getByRole('alert')
  await typeInto(page, 'Key budget (USD)', '1,5')
  await page.keyboard.press('Enter')
  await alert.filter({ hasText: 'Key budget (USD) must be an amount in USD in digits' }).waitFor({ timeout: 10_000 })
  await form.getByLabel('Key budget (USD)').fill('1.5')
  await typeInto(page, 'Requests per minute', '1,5')
  await page.keyboard.press('Enter')
  await alert.filter({ hasText: 'Requests per minute must be a whole number in digits' }).waitFor({ timeout: 10_000 })
  expect(writes).toEqual([])
  await form.getByLabel('Requests per minute').fill('')
  await form.getByRole('button', { name: 'Create key' }).click()
  await page.getByTestId('new-secret').waitFor({ timeout: 10_000 })
  await context.close()
  const keys = (await gw.admin('GET', '/v1/keys?user_id=comma-keys')).body.data
  expect(keys.map((k: any) => [k.max_budget, k.rpm_limit])).toEqual([[1.5, null]])
}, 60_000)
