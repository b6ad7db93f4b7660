/**
 * Red team kk. The Users page's row actions (Block, Unblock, Delete) show a failure in an alert line that nothing ever
 * clears (users.tsx: `act` sets the error on failure only; the Keys page's Rotate and Revoke do the same). A refused
 * action (here: Block of a user another admin deleted meanwhile, 404) stays on screen, as role="alert", after the
 * next action succeeds and the list reloads: the operator reads that the Block they just made failed.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('Users page: an action that succeeds clears the error of one that failed before it', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'gone-soon' })).status).toBe(201)
  expect((await gw.admin('POST', '/v1/users', { id: 'stays' })).status).toBe(201)
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/users'))
  const gone = page.getByRole('row').filter({ hasText: 'gone-soon' })
  const stays = page.getByRole('row').filter({ hasText: 'stays' })
  await stays.waitFor({ timeout: 10_000 })

  // Another admin (or the CLI) deletes one user; this operator, on the list as loaded, blocks it: refused 404.
  expect((await gw.admin('DELETE', '/v1/users/gone-soon')).status).toBe(200)
  await gone.getByRole('button', { name: 'Block', exact: true }).click()
  const alert = page.getByRole('alert')
  await alert.waitFor({ timeout: 10_000 })
  const failed = (await alert.textContent()) ?? ''

  // Then blocks another user: it works, and the list shows it blocked.
  await stays.getByRole('button', { name: 'Block', exact: true }).click()
  await stays.getByRole('button', { name: 'Unblock', exact: true }).waitFor({ timeout: 10_000 })
  expect((await gw.admin('GET', '/v1/users/stays')).body.blocked).toBe(true)
  await page.waitForLoadState('networkidle')
  const after = { errorShown: await alert.isVisible(), text: (await alert.isVisible()) ? await alert.textContent() : null }
  await context.close()

  expect(failed).toContain('gone-soon')
  expect(after).toEqual({ errorShown: false, text: null })
}, 60_000)

test('Keys page: a Rotate that succeeds clears the error of one that failed before it', async () => {
  const gone = await gw.userWithKey({ id: 'keys-gone-soon' }, { name: 'gone' })
  const stays = await gw.userWithKey({ id: 'keys-stay' }, { name: 'stays' })
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/keys'))
  const goneRow = page.getByRole('row').filter({ hasText: gone.keyId })
  const staysRow = page.getByRole('row').filter({ hasText: stays.keyId })
  await staysRow.waitFor({ timeout: 10_000 })

  // The key's user (and so the key) is deleted meanwhile: its Rotate is refused 404.
  expect((await gw.admin('DELETE', '/v1/users/keys-gone-soon')).status).toBe(200)
  await goneRow.getByRole('button', { name: 'Rotate', exact: true }).click()
  const alert = page.getByRole('alert')
  await alert.waitFor({ timeout: 10_000 })
  const failed = (await alert.textContent()) ?? ''
  // The list is read again after the refusal too: the deleted key is gone from it.
  await goneRow.waitFor({ state: 'detached', timeout: 10_000 })

  await staysRow.getByRole('button', { name: 'Rotate', exact: true }).click()
  await page.getByTestId('new-secret').waitFor({ timeout: 10_000 })
  await page.waitForLoadState('networkidle')
  const errorShown = await alert.isVisible()
  await context.close()

  expect(failed).toContain(gone.keyId)
  expect(errorShown).toBe(false)
}, 60_000)
