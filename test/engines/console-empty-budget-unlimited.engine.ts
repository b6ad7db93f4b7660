/**
 * README: a budget field left empty is "unlimited" (the Users form's
 * placeholder) or "none" (the Keys form's), and an emptied field is sent as null; a budget of $0 "may spend
 * nothing". A page that sent an empty budget as 0 (`typedNumber(...) ?? 0`) would create every user and key the
 * console makes without a budget unable to spend anything, and no browser test left the budget empty.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('a user created with the budget left empty is unlimited (max_budget null), not a $0 budget', async () => {
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/users'))
  const form = page.getByRole('form', { name: 'New user' })
  await form.getByLabel('User id').fill('open-team')
  await form.getByRole('button', { name: 'Create user' }).click()
  await page.getByRole('row').filter({ hasText: 'open-team' }).waitFor({ timeout: 10_000 })
  await context.close()
  expect((await gw.admin('GET', '/v1/users/open-team')).body.max_budget).toBeNull()
}, 60_000)

test('a key created with the budget left empty has no budget of its own (null), not a $0 one', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'open-keys' })).status).toBe(201)
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/keys?user_id=open-keys'))
  const form = page.getByRole('form', { name: 'New key' })
  await form.getByLabel('Name').fill('ci')
  await form.getByRole('button', { name: 'Create key' }).click()
  await page.getByTestId('new-secret').waitFor({ timeout: 10_000 })
  await context.close()
  const keys = (await gw.admin('GET', '/v1/keys?user_id=open-keys')).body.data
  expect(keys.map((k: any) => [k.name, k.max_budget])).toEqual([['ci', null]])
}, 60_000)

test('emptying a user\'s budget in the edit form sends max_budget: null and leaves the user unlimited', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'capped', max_budget: 100 })).status).toBe(201)
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/users'))
  const row = page.getByRole('row').filter({ hasText: 'capped' })
  await row.getByText('$100.00').first().waitFor({ timeout: 10_000 })
  await row.getByRole('button', { name: 'Edit', exact: true }).click()
  const form = page.getByRole('form', { name: 'Edit user capped' })
  await form.getByLabel('Budget (USD)').fill('')
  const patch = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith('/v1/users/capped'))
  await form.getByRole('button', { name: 'Save' }).click()
  const body = (await patch).postDataJSON()
  await page.getByRole('form', { name: 'Edit user capped' }).waitFor({ state: 'detached', timeout: 10_000 })
  await context.close()
  expect(body).toEqual({ max_budget: null })
  expect((await gw.admin('GET', '/v1/users/capped')).body.max_budget).toBeNull()
}, 60_000)
