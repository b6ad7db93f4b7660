/**
 * The admin console in a real browser (SPEC §12, issue 16): Debian's headless chromium driven by
 * playwright-core, against a real gateway and the mock provider. Run by `npm run test:engines`, not by
 * `npm test` (it needs the chromium package). With TOLLGATE_SCREENSHOTS=1 it also writes docs/console-*.png.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { MASTER_KEY, ROOT, startTestGateway, type TestGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOTS = process.env.TOLLGATE_SCREENSHOTS === '1'

let mock: MockProvider
let gw: TestGateway
let browser: Browser

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: the console's browser tests need Debian's chromium (apt-get install -y chromium)`)
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
    // No --user-data-dir: playwright gives every launch a fresh profile of its own and removes it on close.
  })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await gw?.stop()
  await mock?.stop()
})

/** A fresh browser context whose every console error, page error and CSP violation is collected. */
async function openConsole(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => {
    // A failed load names its URL only in its location: kept, so an expected 404 is told apart from any other.
    if (m.type() === 'error') problems.push(`console: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('dialog', (d) => d.accept())
  // Page functions run in the browser: its globals are reached through globalThis (this file is typed for Bun, not the DOM).
  await page.addInitScript(() =>
    (globalThis as any).document.addEventListener('securitypolicyviolation', (e: any) =>
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
    ),
  )
  await page.goto(`${gw.url}/ui`)
  return { context, page, problems }
}

/**
 * The problems but the 404s of looking up the price in force for these models: the price form asks before it
 * writes, and a model with no price is a 404 (the browser logs every failed load as an error).
 */
const butPriceLookups = (problems: string[], ...models: string[]) =>
  problems.filter((p) => !models.some((m) => p.includes('status of 404') && p.endsWith(`/v1/pricing/${encodeURIComponent(m)})`)))

/** Every input and select on the page has a label that names it (forms usable with a screen reader and the keyboard). */
async function unlabelledFields(page: Page): Promise<string[]> {
  return page.$$eval('input, select', (els: any[]) =>
    els.filter((el) => !el.labels?.length || !el.labels[0].textContent.trim()).map((el) => el.outerHTML as string),
  )
}

async function visit(page: Page, name: string, heading: string | RegExp) {
  await page.getByRole('navigation', { name: 'console' }).getByRole('link', { name, exact: true }).click()
  // waitFor, not isVisible: the page renders after the click resolves, and isVisible does not wait (failed once in CI).
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ state: 'visible', timeout: 10_000 })
  await page.waitForLoadState('networkidle')
  expect(await unlabelledFields(page)).toEqual([])
}

const shoot = async (page: Page, name: string) => {
  if (SCREENSHOTS) await page.screenshot({ path: join(ROOT, 'docs', `console-${name}.png`), fullPage: true })
}

const FLOW_MS = 120_000

test('an operator signs in, creates a user and a key, sees its request in Usage and on the Overview chart, revokes it, signs out', async () => {
  const { context, page, problems } = await openConsole()

  // Sign in with the keyboard alone: focus the labelled field, type, Enter.
  await page.getByLabel('Master key or your API key').focus()
  await page.keyboard.type(MASTER_KEY)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  expect(await page.evaluate(() => {
    const g = globalThis as any
    return JSON.stringify({ ...g.localStorage }) + JSON.stringify({ ...g.sessionStorage }) + g.document.cookie
  })).not.toContain(MASTER_KEY)
  // HttpOnly: the page's script cannot read its own session cookie.
  expect(await page.evaluate(() => (globalThis as any).document.cookie)).not.toContain('tollgate_session')

  await visit(page, 'Users', 'Users')
  await page.getByLabel('User id').fill('browser-team')
  await page.getByLabel('Alias').fill('<img src=x onerror=alert(1)>')
  await page.getByLabel('Budget (USD)').fill('5')
  await page.getByRole('button', { name: 'Create user' }).click()
  await page.getByRole('cell', { name: /^browser-team/ }).waitFor()
  // A client-chosen value is text, never markup.
  expect(await page.locator('main img').count()).toBe(0)
  await page.getByText('<img src=x onerror=alert(1)>').waitFor()
  await shoot(page, 'users')

  await page.getByRole('link', { name: 'Keys', exact: true }).last().click()
  await page.getByRole('heading', { level: 1, name: 'Keys of browser-team' }).waitFor()
  expect(await unlabelledFields(page)).toEqual([])
  const newKey = page.getByRole('form', { name: 'New key' })
  await newKey.getByLabel('Name', { exact: true }).fill('browser-key')
  // The key's user-field policy, chosen with the keyboard: focus the labelled select, pick an option.
  await newKey.getByLabel('User field (a body naming another user)').focus()
  await page.keyboard.press('End')
  await page.getByRole('button', { name: 'Create key' }).click()
  const secret = (await page.getByTestId('new-secret').textContent())!
  const [created] = (await gw.admin('GET', '/v1/keys?user_id=browser-team')).body.data
  expect(created).toMatchObject({ name: 'browser-key', user_field: 'tag', clamp_output: null })
  // The key's row is drawn again once the list reloads: waited for, not read at once.
  await page.getByTestId('key-user-field').filter({ hasText: /^tag$/ }).waitFor({ timeout: 10_000 })
  expect(secret).toStartWith('tg-')
  await page.getByRole('button', { name: 'Copy' }).click()
  await page.getByRole('button', { name: 'Copied' }).waitFor()
  expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(secret)
  await shoot(page, 'keys')
  await page.getByRole('button', { name: 'Done' }).click()
  // Gone from the page once it has drawn again (waited for, as the rest).
  await page.getByTestId('new-secret').waitFor({ state: 'detached', timeout: 10_000 })

  const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
  // A body naming another user is served (the gateway's default would refuse it with a 403): the key tags.
  const answer = await client.chat.completions.create({ model: 'mock:gpt-mock', user: 'someone-else', messages: [{ role: 'user', content: 'hello from the browser test' }] })
  expect(answer.choices[0]!.message.content).toBeTruthy()
  await gw.settled()
  const [row] = gw.query('SELECT cost FROM usage')
  const answerCost = `$${(row.cost / 1e6).toFixed(6).replace(/0{1,4}$/, '')}`

  await visit(page, 'Usage', 'Usage')
  await page.getByRole('cell', { name: 'browser-team' }).first().waitFor()
  await page.getByRole('cell', { name: 'mock:gpt-mock' }).first().waitFor()
  await page.locator('.u-legend').getByText('mock:gpt-mock').first().waitFor()
  await shoot(page, 'usage')

  // A model of the configured provider asked for while unpriced: on the Overview, one click from its price.
  const unpriced = await client.chat.completions.create({ model: 'mock:gpt-new', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  expect(unpriced.status).toBe(402)
  await gw.settled()

  await visit(page, 'Overview', 'Overview')
  // The chart's legend names the model, and its value for today is the request's cost.
  const legend = page.locator('.chart').first().locator('.u-legend')
  await legend.getByText('mock:gpt-mock').waitFor()
  await page.getByTestId('spend-today').filter({ hasNotText: /^\$0\.00$/ }).waitFor({ timeout: 10_000 })
  const plotted = await page.locator('.chart').first().locator('canvas').count()
  expect(plotted).toBe(1)
  // Pointing at today's bar, the legend shows the request's cost for the model.
  const over = (await page.locator('.chart').first().locator('.u-over').boundingBox())!
  await page.mouse.move(over.x + over.width * (29.5 / 30), over.y + over.height / 2)
  const today = await legend.locator('.u-series').filter({ hasText: 'mock:gpt-mock' }).locator('.u-value').textContent()
  expect(today).toBe(answerCost)
  await page.getByRole('row', { name: /mock:gpt-new/ }).waitFor()
  await shoot(page, 'overview')

  await page.getByRole('row', { name: /mock:gpt-new/ }).getByRole('button', { name: 'Price it' }).click()
  await page.getByRole('heading', { level: 1, name: 'Prices' }).waitFor()
  expect(await page.getByLabel('Model (provider:model)').inputValue()).toBe('mock:gpt-new')
  await page.getByLabel('Input USD / 1M tokens').fill('0.5')
  await page.getByLabel('Output USD / 1M tokens').fill('1.5')
  await shoot(page, 'prices')
  await page.getByRole('button', { name: 'Add price' }).click()
  await page.getByRole('cell', { name: 'mock:gpt-new' }).first().waitFor()
  // The unpriced highlight goes once the page has re-read the record of unpriced models (its own request).
  await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('.unpriced').length === 0, undefined, { timeout: 10_000 })
  expect(await page.locator('.unpriced').count()).toBe(0)
  expect((await client.chat.completions.create({ model: 'mock:gpt-new', messages: [{ role: 'user', content: 'hi' }] })).choices.length).toBe(1)

  await visit(page, 'Audit', 'Audit')
  await page.getByRole('cell', { name: '402' }).first().waitFor()
  await shoot(page, 'audit')

  await visit(page, 'Keys', /^Keys/)
  await page.getByLabel('Filter by user id').fill('browser-team')
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.getByRole('heading', { level: 1, name: 'Keys of browser-team' }).waitFor()
  // Editing shows the key's settings as they are and changes only what was changed.
  await page.getByRole('button', { name: 'Edit' }).click()
  const edit = page.getByRole('form', { name: `Edit key ${created.id}` })
  expect(await edit.getByLabel('User field (a body naming another user)').inputValue()).toBe('tag')
  expect(await unlabelledFields(page)).toEqual([])
  await edit.getByLabel('Clamp output to budget').selectOption('true')
  await edit.getByRole('button', { name: 'Save' }).click()
  await page.getByTestId('key-clamp').filter({ hasText: 'on' }).waitFor()
  expect((await gw.admin('GET', `/v1/keys/${created.id}`)).body).toMatchObject({ user_field: 'tag', clamp_output: true })

  await page.getByRole('button', { name: 'Revoke' }).click()
  await page.getByRole('cell', { name: 'revoked' }).waitFor()
  const refused = await client.chat.completions.create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'again' }] }).catch((e) => e)
  expect(refused.status).toBe(401)
  // The revocation is an alert, listed on the Overview.
  await visit(page, 'Overview', 'Overview')
  await page.getByRole('row', { name: new RegExp(`key_revoked.*${created.id}`) }).waitFor()

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Master key or your API key').waitFor()
  expect((await context.request.get(`${gw.url}/v1/users`)).status()).toBe(401)
  expect(butPriceLookups(problems, 'mock:gpt-new')).toEqual([])
  await context.close()
}, FLOW_MS)

/** A row's fields the console's price form does not offer, set on the row in force (GPT-5.4's long context, gpt-4o-mini's media bound). */
const UNOFFERED_PRICE_FIELDS = {
  cache_write_per_million: 3,
  cache_write_1h_per_million: 5,
  audio_input_per_million: 32,
  audio_output_per_million: 64,
  server_tools: { web_search: 0.01 },
  service_tiers: { long_context: 2, long_context_output: 1.5, priority: 2 },
  long_context_above_tokens: 272000,
  media_part_tokens: 48169,
}

test('a price added in the console keeps every field of the price in force the form does not offer, and shows which', async () => {
  await gw.admin('POST', '/v1/pricing', {
    model: 'mock:gpt-form', input_per_million: 2.5, output_per_million: 15, cached_input_per_million: 0.25, per_request: 0.001,
    ...UNOFFERED_PRICE_FIELDS, source: 'a catalog',
  })
  // Scheduled for later, so not in force: nothing is kept from it.
  await gw.admin('POST', '/v1/pricing', {
    model: 'mock:gpt-form', input_per_million: 9, output_per_million: 9, media_part_tokens: 1,
    effective_from: new Date(Date.now() + 7 * 86_400_000).toISOString(),
  })
  const { context, page, problems } = await openConsole()
  await page.getByLabel('Master key or your API key').fill(MASTER_KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  await visit(page, 'Prices', 'Prices')

  // Naming the model shows, under the form, what a new price for it keeps.
  await page.getByLabel('Model (provider:model)').fill('mock:gpt-form')
  const keeps = page.getByTestId('price-keeps')
  await keeps.waitFor({ timeout: 10_000 })
  for (const field of Object.keys(UNOFFERED_PRICE_FIELDS)) expect(await keeps.textContent()).toContain(field)
  expect(await keeps.textContent()).toContain('media_part_tokens: 48169')
  // The offered fields show the rates in force; one the operator empties is unset, and the preview says so.
  expect(await page.getByLabel('Per request USD').inputValue()).toBe('0.001')
  await page.getByLabel('Input USD / 1M tokens').fill('3')
  await page.getByLabel('Output USD / 1M tokens').fill('15')
  await page.getByLabel('Cached input USD / 1M').fill('')
  await page.getByLabel('Per request USD').fill('')
  expect(await page.getByTestId('price-unsets').textContent()).toBe('Left empty, so unset by the new price: cached_input_per_million (now 0.25), per_request (now 0.001)')
  await page.getByRole('button', { name: 'Add price' }).click()
  const kept = page.getByTestId('price-kept')
  await kept.waitFor({ timeout: 10_000 })
  for (const field of Object.keys(UNOFFERED_PRICE_FIELDS)) expect(await kept.textContent()).toContain(field)
  expect(await page.getByTestId('price-unset').textContent()).toBe('Unset, as left empty: cached_input_per_million (was 0.25), per_request (was 0.001)')
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-form')).body).toMatchObject({
    input_per_million: 3, output_per_million: 15, ...UNOFFERED_PRICE_FIELDS,
    // Emptied: unset. The source named the old row's origin, not this one's.
    cached_input_per_million: null, per_request: null, source: null,
  })

  // A new model: nothing to keep, and the console says so.
  await page.getByLabel('Model (provider:model)').fill('mock:gpt-form-new')
  await page.getByTestId('price-keeps').filter({ hasText: 'No price in force for mock:gpt-form-new: nothing to keep.' }).waitFor({ timeout: 10_000 })
  await page.getByLabel('Input USD / 1M tokens').fill('1')
  await page.getByLabel('Output USD / 1M tokens').fill('2')
  await page.getByRole('button', { name: 'Add price' }).click()
  await page.getByTestId('price-kept').filter({ hasText: 'Added mock:gpt-form-new, a new model: nothing kept.' }).waitFor({ timeout: 10_000 })
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-form-new')).body).toMatchObject({ input_per_million: 1, output_per_million: 2, media_part_tokens: null, service_tiers: {} })
  expect(butPriceLookups(problems, 'mock:gpt-form-new')).toEqual([])
  await context.close()
}, FLOW_MS)

test('a key signs in to its own read-only view and cannot reach admin data', async () => {
  const { secret } = await gw.userWithKey({ id: 'self-browser', max_budget: 2, budget_period: 'monthly' }, { name: 'my laptop', user_field: 'tag' })
  const { context, page, problems } = await openConsole()
  await page.getByLabel('Master key or your API key').fill(secret)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { level: 1, name: 'My key' }).waitFor()
  await page.getByTestId('remaining').filter({ hasText: /^\$2\.00$/ }).waitFor({ timeout: 10_000 })
  await page.getByText('tag: billed to this key, the value sent on as a tag').waitFor()
  expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0)
  await shoot(page, 'my-key')
  // Even asked directly, with the session's own cookie and CSRF token, the admin API says no.
  const statuses = await page.evaluate(async () => {
    const session: any = await (await fetch("/v1/session")).json()
    const get = (p: string) => fetch(p).then((r) => r.status)
    return {
      users: await get('/v1/users'),
      usage: await get('/v1/usage'),
      overview: await get('/v1/usage/overview'),
      create: await fetch('/v1/users', {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token }, body: '{"id":"x"}',
      }).then((r) => r.status),
    }
  })
  expect(statuses).toEqual({ users: 403, usage: 403, overview: 403, create: 403 })
  await page.goto(`${gw.url}/ui#/users`)
  await page.getByRole('heading', { level: 1, name: 'My key' }).waitFor()
  // The only errors are the 403s asked for above.
  expect(problems.filter((p) => !p.includes('status of 403'))).toEqual([])
  await context.close()
}, FLOW_MS)

test('Sign out in a tab whose session was replaced in another tab still signs the browser out', async () => {
  const { context, page: a, problems } = await openConsole()
  const signIn = async (page: Page) => {
    await page.getByLabel('Master key or your API key').fill(MASTER_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  }
  await signIn(a)
  // Another tab of the same browser signs out and in again (as after an idle expiry): a new session, whose
  // CSRF token the first tab does not hold.
  const b = await context.newPage()
  await b.goto(`${gw.url}/ui`)
  await b.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  await b.getByRole('button', { name: 'Sign out' }).click()
  await b.getByLabel('Master key or your API key').waitFor()
  await signIn(b)
  expect((await context.request.get(`${gw.url}/v1/users`)).status()).toBe(200)

  // A sign-out the gateway does not confirm is said, not hidden: the tab stays signed in, as the browser is.
  await a.route('**/v1/session', (route) =>
    route.request().method() === 'DELETE'
      ? route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"message":"try again shortly"}}' })
      : route.continue(),
  )
  await a.getByRole('button', { name: 'Sign out' }).click()
  await a.getByRole('alert').filter({ hasText: 'Not signed out: try again shortly' }).waitFor()
  expect(await a.getByRole('heading', { level: 1, name: 'Overview' }).isVisible()).toBe(true)
  expect((await context.request.get(`${gw.url}/v1/users`)).status()).toBe(200)
  await a.unroute('**/v1/session')

  // Back in the first tab, the operator signs out: the console shows the sign-in form...
  await a.getByRole('button', { name: 'Sign out' }).click()
  await a.getByLabel('Master key or your API key').waitFor()
  // ...and the browser holds no live session any more (the tab's stale token did not leave it open).
  expect((await context.request.get(`${gw.url}/v1/users`)).status()).toBe(401)
  expect(((await (await context.request.get(`${gw.url}/v1/session`)).json()) as { kind: unknown }).kind).toBeNull()
  // The only error is the 503 staged above.
  expect(problems.filter((p) => !p.includes('status of 503'))).toEqual([])
  await context.close()
}, FLOW_MS)
