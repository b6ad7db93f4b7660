/**
 * Red team kk. The Keys page's Status column says `revoked` or `active`, nothing else: a key past its expiry, which
 * the gateway refuses (401), is listed "active", with Edit and Rotate offered as for a live key. The operator reading
 * why a client is failing sees a key that works. (`/v1/keys` gives `expires_at`; the page only compares `revoked_at`.)
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('Keys page: a key past its expiry, refused by the gateway, is not shown as active', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'expiring-team' })).status).toBe(201)
  const created = await gw.admin('POST', '/v1/keys', { user_id: 'expiring-team', name: 'ci', expires_at: new Date(Date.now() + 1500).toISOString() })
  expect(created.status).toBe(201)
  await Bun.sleep(2000)
  // The gateway refuses it now.
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${created.body.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(401)
  await res.text()

  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/keys?user_id=expiring-team'))
  const row = page.getByRole('row').filter({ hasText: created.body.id })
  await row.waitFor({ timeout: 10_000 })
  const cells = await row.getByRole('cell').allTextContents()
  const status = cells[9]
  await context.close()

  expect(status).not.toBe('active')
}, 60_000)

test('Keys page: a key of a blocked user, refused by the gateway, is not shown as active', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'blocked-team' }, { name: 'ci' })
  expect((await gw.admin('PATCH', '/v1/users/blocked-team', { blocked: true })).status).toBe(200)
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })
  const refused = res.status
  await res.text()

  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/keys?user_id=blocked-team'))
  const row = page.getByRole('row').filter({ hasText: keyId })
  await row.waitFor({ timeout: 10_000 })
  const status = (await row.getByRole('cell').allTextContents())[9]
  await context.close()

  expect(refused).toBeGreaterThanOrEqual(400)
  expect({ refused, status }).toEqual({ refused, status: expect.not.stringMatching(/^active$/) })
}, 60_000)
