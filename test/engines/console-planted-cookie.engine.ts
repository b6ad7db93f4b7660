/**
 * A page on another port of the same host (cookies ignore ports; a sibling subdomain's Domain cookie or anyone on
 * plain HTTP does the same) sets `tollgate_session=…; Path=/v1`. The browser sends that cookie BEFORE the console's
 * own (longer path first). Every session cookie the request carries counts, an admin session before a key session:
 * the admin is neither locked out of the console nor shown the planter's own key session.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { MASTER_KEY, type TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser
withConsoleBrowser((started) => ({ gw, browser } = started))

/** Another web app on the same host (any port): it plants a cookie under the console's name, scoped to /v1. */
function plantingPage(value: string) {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () =>
      new Response('<!doctype html><title>hi</title>planted', {
        headers: { 'content-type': 'text/html', 'set-cookie': `tollgate_session=${value}; Path=/v1; Max-Age=86400` },
      }),
  })
}

/** The admin, in a browser that visited `planter` first, signs in; what the console shows then and after a reload. */
async function signInAfterVisiting(planter: ReturnType<typeof plantingPage>) {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${planter.port}/`)
  await page.goto(`${gw.url}/ui`)
  await page.getByLabel('Master key or your API key').fill(MASTER_KEY)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  await page.waitForLoadState('networkidle')
  const alerts = await page.getByRole('alert').allTextContents()
  await page.reload()
  await page.waitForLoadState('networkidle')
  const signedInAfterReload = await page.getByRole('heading', { level: 1, name: 'Overview' }).isVisible()
  return { context, page, seen: { alerts, signedInAfterReload } }
}

test('a cookie planted by another page of the same site does not lock the admin out of the console', async () => {
  const planter = plantingPage('planted-by-another-page')
  const { context, seen } = await signInAfterVisiting(planter)
  try {
    expect(seen).toEqual({ alerts: [], signedInAfterReload: true })
  } finally {
    await context.close()
    planter.stop(true)
  }
}, 60_000)

test("a planted cookie holding the planter's own key session is not what the signed-in admin sees, nor after sign-out", async () => {
  // The planter signs in with a key of its own and plants that live session's cookie.
  const { secret } = await gw.userWithKey({ id: 'planter' })
  const own = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: secret }),
  })
  const token = own.headers.get('set-cookie')!.split(';', 1)[0]!.split('=')[1]!
  const planter = plantingPage(token)
  const { context, page } = await signedInConsole(browser, gw)
  try {
    // The signed-in admin visits the planting page, then comes back to the console.
    await page.goto(`http://127.0.0.1:${planter.port}/`)
    await page.goto(`${gw.url}/ui`)
    await page.waitForLoadState('networkidle')
    expect({
      overview: await page.getByRole('heading', { level: 1, name: 'Overview' }).isVisible(),
      alerts: await page.getByRole('alert').allTextContents(),
    }).toEqual({ overview: true, alerts: [] })
    // Signing out ends every session the browser carries: a reload shows the sign-in form, not the planter's key.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('Master key or your API key').waitFor()
    await page.reload()
    await page.waitForLoadState('networkidle')
    expect({
      signInForm: await page.getByLabel('Master key or your API key').isVisible(),
      myKeyPage: await page.getByRole('link', { name: 'My key' }).count(),
    }).toEqual({ signInForm: true, myKeyPage: 0 })
  } finally {
    await context.close()
    planter.stop(true)
  }
}, 60_000)
