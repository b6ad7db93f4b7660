/**
 * A session that ends under an open console (idle, past its twelve hours, signed out in another tab) leaves the
 * page showing what it had loaded. The next call the page makes is answered 401: the console then drops what it
 * shows and goes back to the sign-in form, saying why, rather than keeping the admin data on screen beside errors.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { MASTER_KEY, type TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser
withConsoleBrowser((started) => ({ gw, browser } = started))

test('a console call answered 401 sends the page back to the sign-in form and clears what it showed', async () => {
  await gw.admin('POST', '/v1/users', { id: 'shown-before-the-end' })
  const { context, page } = await signedInConsole(browser, gw)
  try {
    const nav = page.getByRole('navigation', { name: 'console' })
    await nav.getByRole('link', { name: 'Users' }).click()
    await page.getByText('shown-before-the-end').first().waitFor()
    gw.exec('DELETE FROM console_sessions')
    await nav.getByRole('link', { name: 'Keys' }).click()
    await page.getByLabel('Master key or your API key').waitFor()
    expect({
      notice: await page.getByText('The session has ended: sign in again.').isVisible(),
      adminDataShown: await page.getByText('shown-before-the-end').count(),
      navigation: await page.getByRole('navigation', { name: 'console' }).count(),
    }).toEqual({ notice: true, adminDataShown: 0, navigation: 0 })
    // Signed in again, the admin is back on the page they were on.
    await page.getByLabel('Master key or your API key').fill(MASTER_KEY)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor()
    expect(await page.getByText('The session has ended: sign in again.').count()).toBe(0)
  } finally {
    await context.close()
  }
}, 60_000)
