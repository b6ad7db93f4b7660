/**
 * Red team (jr): two console tabs of one browser. The admin signs out in one and signs in again there (the next
 * morning, say, after the twelve hours ran out in both): the browser now holds a new session, and the other tab still
 * holds the CSRF token of the session that ended. That tab never saw a 401 (its cookie is live), so it was never
 * sent back to the sign-in form, and it never read the new token: every change made in it was refused 403
 * `csrf_failed` until the page was reloaded. A change refused so now asks for the browser's session and, if it is of
 * the same kind, is sent once more with its token; a tab whose admin session was replaced by a key's shows the key's
 * page instead, and sends nothing as that key.
 */
import { expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import { MASTER_KEY, type TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser
withConsoleBrowser((started) => ({ gw, browser } = started))

/** Another tab of the same browser (the cookie is shared), already signed in: it signs out and in again with `key`. */
async function signInAgainElsewhere(tabB: Page, key: string, heading: string) {
  await tabB.goto(`${gw.url}/ui`)
  await tabB.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  await tabB.getByRole('button', { name: 'Sign out' }).click()
  await tabB.getByLabel('Master key or your API key').fill(key)
  await tabB.keyboard.press('Enter')
  await tabB.getByRole('heading', { level: 1, name: heading }).waitFor()
}

/** Creates a user in tab A's form; the statuses of every POST /v1/users the tab sent, once one is not refused (or 5 s). */
async function createUser(tabA: Page, id: string): Promise<number[]> {
  const answers: number[] = []
  tabA.on('response', (r) => {
    if (r.request().method() === 'POST' && r.url().endsWith('/v1/users')) answers.push(r.status())
  })
  const form = tabA.getByRole('form', { name: 'New user' })
  await form.getByLabel('User id').fill(id)
  const accepted = tabA.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/v1/users') && r.status() !== 403, { timeout: 5_000 })
  await form.getByRole('button', { name: 'Create user' }).click()
  await accepted.catch(() => {})
  return answers
}

async function onUsersPage(tabA: Page) {
  await tabA.getByRole('navigation', { name: 'console' }).getByRole('link', { name: 'Users' }).click()
  await tabA.getByRole('heading', { level: 1, name: 'Users' }).waitFor()
}

test('a user created in a tab whose session was replaced by a sign-in in another tab is created', async () => {
  const { context, page: tabA } = await signedInConsole(browser, gw)
  try {
    await signInAgainElsewhere(await context.newPage(), MASTER_KEY, 'Overview')
    // Tab A is still on the console: its reads work with the browser's (new) session.
    await onUsersPage(tabA)
    const answers = await createUser(tabA, 'made-in-tab-a')
    // Refused once with the stale token (before the route ran), then sent again with the new one.
    expect({ answers, created: (await gw.admin('GET', '/v1/users/made-in-tab-a')).status }).toEqual({ answers: [403, 201], created: 200 })
  } finally {
    await context.close()
  }
}, 60_000)

test("a tab whose admin session was replaced by a key's sign-in shows the key's page, and creates nothing", async () => {
  const { secret } = await gw.userWithKey({ id: 'signed-in-in-tab-b' })
  const { context, page: tabA } = await signedInConsole(browser, gw)
  try {
    await onUsersPage(tabA)
    await signInAgainElsewhere(await context.newPage(), secret, 'My key')
    const answers = await createUser(tabA, 'not-made-in-tab-a')
    await tabA.getByRole('heading', { level: 1, name: 'My key' }).waitFor({ timeout: 5_000 })
    expect({ answers, created: (await gw.admin('GET', '/v1/users/not-made-in-tab-a')).status }).toEqual({ answers: [403], created: 404 })
  } finally {
    await context.close()
  }
}, 60_000)

test("an admin page read after a key's sign-in in another tab shows the key's page", async () => {
  const { secret } = await gw.userWithKey({ id: 'read-after-key-sign-in' })
  const { context, page: tabA } = await signedInConsole(browser, gw)
  try {
    await signInAgainElsewhere(await context.newPage(), secret, 'My key')
    // The Users page reads /v1/users: refused admin_only to the key's session.
    await tabA.getByRole('navigation', { name: 'console' }).getByRole('link', { name: 'Users' }).click()
    await tabA.getByRole('heading', { level: 1, name: 'My key' }).waitFor({ timeout: 5_000 })
  } finally {
    await context.close()
  }
}, 60_000)
