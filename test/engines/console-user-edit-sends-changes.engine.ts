/**
 * Editing a user in the console sent back every field of the form, prefilled from the list as it was loaded:
 * a budget lowered since (by the CLI, another admin, another tab) was raised back by a mere rename, its period
 * restarted. Like the key form, the user form now sends only what the operator changed.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('renaming a user keeps the budget and period as they are now, not as the list showed them when it loaded', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'team', max_budget: 100, budget_period: 'monthly' })).status).toBe(201)
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/users'))
  const row = page.getByRole('row').filter({ hasText: 'team' })
  await row.getByText('$100.00').first().waitFor({ timeout: 10_000 })

  // Meanwhile another admin (or `tollgate users update team --budget 10 --period daily`) tightens the budget.
  expect((await gw.admin('PATCH', '/v1/users/team', { max_budget: 10, budget_period: 'daily' })).status).toBe(200)

  // This operator only gives the user an alias.
  await row.getByRole('button', { name: 'Edit', exact: true }).click()
  const form = page.getByRole('form', { name: 'Edit user team' })
  await form.getByLabel('Alias').fill('The Team')
  const patch = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith('/v1/users/team'))
  await form.getByRole('button', { name: 'Save' }).click()
  expect((await patch).postDataJSON()).toEqual({ alias: 'The Team' })
  await form.waitFor({ state: 'detached', timeout: 10_000 })
  await context.close()

  const after = (await gw.admin('GET', '/v1/users/team')).body
  expect({ alias: after.alias, max_budget: after.max_budget, budget_period: after.budget_period }).toEqual({
    alias: 'The Team', max_budget: 10, budget_period: 'daily',
  })
}, 60_000)
