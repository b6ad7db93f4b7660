/**
 * A new or rotated key's secret is "shown once": the console displays it after create/rotate, and the API answer is
 * no-store. The console page itself must not come back with it: were /ui kept in the browser's back/forward cache
 * (`no-cache` lets it), the admin creates a key, goes on to another site, and anyone pressing Back at that browser,
 * later, even after the session has ended, sees the secret again without any request. /ui is `no-store`, and the
 * secret (and a key typed into the sign-in form) is forgotten as the page is left, for a browser that caches anyway.
 */
import { expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser
withConsoleBrowser((started) => ({ gw, browser } = started), { backForwardCache: true })

/** The Keys page of `userId`, a key of it created (or then rotated), and the secret the console shows once. */
async function secretShown(page: Page, userId: string, rotate: boolean): Promise<string> {
  await page.goto(`${gw.url}/ui#/keys?user_id=${userId}`)
  await page.getByRole('heading', { level: 1, name: `Keys of ${userId}` }).waitFor()
  await page.getByRole('form', { name: 'New key' }).getByRole('button', { name: 'Create key' }).click()
  let secret = await page.getByTestId('new-secret').textContent()
  if (rotate) {
    await page.getByRole('button', { name: 'Done' }).click()
    await page.getByRole('button', { name: 'Rotate' }).click()
    await page.getByTestId('new-secret').filter({ hasNotText: secret! }).waitFor()
    secret = await page.getByTestId('new-secret').textContent()
  }
  expect(secret).toStartWith('tg-')
  return secret!
}

for (const [shown, rotate] of [['a new key', false], ['a rotated key', true]] as const)
  test(`the secret of ${shown} is not shown again by the Back button once the admin has left the console`, async () => {
    const userId = rotate ? 'bf-rotate' : 'bf-create'
    await gw.admin('POST', '/v1/users', { id: userId })
    const elsewhere = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<!doctype html><title>elsewhere</title>elsewhere', { headers: { 'content-type': 'text/html' } }) })
    const { context, page } = await signedInConsole(browser, gw)
    try {
      const secret = await secretShown(page, userId, rotate)
      // The admin goes on to another site (pastes the key into some tool); the session ends meanwhile (idle, or
      // signed out in another tab); then someone at that browser presses Back.
      await page.goto(`http://127.0.0.1:${elsewhere.port}/`)
      gw.exec('DELETE FROM console_sessions')
      // A page restored from the back/forward cache fires no load event: wait for the commit, then for the page.
      await page.goBack({ waitUntil: 'commit' })
      await page.getByRole('heading', { level: 1 }).first().waitFor()
      await page.waitForLoadState('networkidle')
      expect({
        secretShownAgain: (await page.getByText(secret).count()) > 0,
        signInForm: await page.getByLabel('Master key or your API key').isVisible(),
      }).toEqual({ secretShownAgain: false, signInForm: true })
    } finally {
      await context.close()
      elsewhere.stop(true)
    }
  }, 60_000)

test('leaving the page forgets a secret on screen and a key typed into the sign-in form, even if the browser keeps the page', async () => {
  await gw.admin('POST', '/v1/users', { id: 'bf-leave' })
  const { context, page } = await signedInConsole(browser, gw)
  // What a browser that keeps the page in its back/forward cache dispatches as it is left.
  const leave = () => page.evaluate("dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }))")
  try {
    const secret = await secretShown(page, 'bf-leave', false)
    await leave()
    await page.getByTestId('new-secret').waitFor({ state: 'detached' })
    expect(await page.getByText(secret).count()).toBe(0)
    await page.getByRole('button', { name: 'Sign out' }).click()
    const field = page.getByLabel('Master key or your API key')
    await field.fill('a-key-typed-but-not-sent')
    await leave()
    await page.waitForFunction("document.getElementById('f-key').value === ''", undefined, { timeout: 5000 })
    expect(await field.inputValue()).toBe('')
  } finally {
    await context.close()
  }
}, 60_000)
