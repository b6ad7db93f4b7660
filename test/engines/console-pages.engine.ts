/**
 * The console's pages, in headless chromium against a real gateway: they show keys, users and usage as they
 * are, change only what the operator changed, and show the answer for what is on the screen. Each test names
 * the rule it holds; they share one gateway and one browser, each test in a browser context of its own.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'

const CHROMIUM = '/usr/bin/chromium'
let mock: MockProvider
let gw: TestGateway
let browser: Browser

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the console's browser tests need Debian's chromium (apt-get install -y chromium)`)
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] })
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await gw?.stop()
  await mock?.stop()
})

/** A fresh browser signed in with `key` (the master key: the admin console), its page errors collected. */
async function signedIn(key = MASTER_KEY, heading = key === MASTER_KEY ? 'Overview' : 'My key') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(`${gw.url}/ui`)
  await page.getByLabel('Master key or your API key').fill(key)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: heading }).waitFor()
  return { context, page, pageErrors }
}

/** Hand-edits the console's URL (its hash), as an operator may. */
const go = (page: Page, hash: string) => page.evaluate((h) => ((globalThis as any).location.hash = h), hash)

async function keysOf(page: Page, userId: string) {
  await go(page, `#/keys?user_id=${userId}`)
  await page.getByRole('heading', { level: 1, name: `Keys of ${userId}` }).waitFor()
}

const TIMEOUT = 60_000

test('renaming a key allowed no model keeps it allowed no model, shown as "none" in the list, the form and its own page', async () => {
  const { keyId, secret } = await gw.userWithKey({ id: 'locked-team', max_budget: 5 }, { name: 'parked', allowed_models: [] })
  const call = async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
    })
    await res.text()
    return res.status
  }
  expect(await call()).toBe(403)

  const { context, page } = await signedIn()
  await keysOf(page, 'locked-team')
  expect(await page.getByTestId('key-models').textContent()).toBe('none')
  await page.getByRole('button', { name: 'Edit', exact: true }).click()
  const form = page.getByRole('form', { name: `Edit key ${keyId}` })
  expect(await form.getByLabel('Allowed models').inputValue()).toBe('none')
  await form.getByLabel('Name').fill('parked-renamed')
  await form.getByRole('button', { name: 'Save' }).click()
  await form.waitFor({ state: 'detached', timeout: 10_000 })
  await context.close()

  const after = (await gw.admin('GET', `/v1/keys/${keyId}`)).body
  expect({ name: after.name, allowed_models: after.allowed_models, status: await call(), providerCalls: mock.calls.length }).toEqual({
    name: 'parked-renamed', allowed_models: [], status: 403, providerCalls: 0,
  })

  const own = await signedIn(secret)
  expect(await own.page.getByTestId('allowed-models').textContent()).toBe('none')
  await own.context.close()
}, TIMEOUT)

test('renaming a key leaves its expiry as it was, to the second (one due within the minute too); an expiry edited keeps its seconds', async () => {
  const expiresAt = `${new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)}T23:59:45.123Z`
  const { keyId } = await gw.userWithKey({ id: 'expiry-team', max_budget: 5 }, { name: 'contractor', expires_at: expiresAt })
  const soon = new Date(Date.now() + 30_000).toISOString()
  const soonKey = (await gw.admin('POST', '/v1/keys', { user_id: 'expiry-team', name: 'soon', expires_at: soon })).body.id

  const { context, page } = await signedIn()
  await keysOf(page, 'expiry-team')
  const row = (id: string) => page.getByRole('row').filter({ hasText: id })
  await row(keyId).getByRole('button', { name: 'Edit', exact: true }).click()
  await page.getByRole('form', { name: `Edit key ${keyId}` }).getByLabel('Name').fill('contractor-renamed')
  await page.getByRole('form', { name: `Edit key ${keyId}` }).getByRole('button', { name: 'Save' }).click()
  await page.getByRole('form', { name: `Edit key ${keyId}` }).waitFor({ state: 'detached', timeout: 10_000 })
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body).toMatchObject({ name: 'contractor-renamed', expires_at: expiresAt })

  await row(soonKey).getByRole('button', { name: 'Edit', exact: true }).click()
  await page.getByRole('form', { name: `Edit key ${soonKey}` }).getByLabel('Name').fill('soon-renamed')
  await page.getByRole('form', { name: `Edit key ${soonKey}` }).getByRole('button', { name: 'Save' }).click()
  await page.getByRole('form', { name: `Edit key ${soonKey}` }).waitFor({ state: 'detached', timeout: 10_000 })
  expect((await gw.admin('GET', `/v1/keys/${soonKey}`)).body).toMatchObject({ name: 'soon-renamed', expires_at: soon })

  await row(keyId).getByRole('button', { name: 'Edit', exact: true }).click()
  const form = page.getByRole('form', { name: `Edit key ${keyId}` })
  await form.getByLabel('Expires (UTC)').fill('2031-02-03T04:05:06')
  await form.getByRole('button', { name: 'Save' }).click()
  await form.waitFor({ state: 'detached', timeout: 10_000 })
  await context.close()
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.expires_at).toBe('2031-02-03T04:05:06.000Z')
}, TIMEOUT)

test('a key created on "Keys of bob" after filtering from alice\'s keys is bob\'s', async () => {
  for (const id of ['alice', 'bob']) expect((await gw.admin('POST', '/v1/users', { id, max_budget: 5 })).status).toBe(201)
  const { context, page } = await signedIn()
  await keysOf(page, 'alice')
  // The page's own filter: bob's keys.
  await page.getByLabel('Filter by user id').fill('bob')
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.getByRole('heading', { level: 1, name: 'Keys of bob' }).waitFor()

  const form = page.getByRole('form', { name: 'New key' })
  expect(await form.getByLabel('User id').inputValue()).toBe('bob')
  await form.getByLabel('Name').fill('bob-ci')
  await form.getByRole('button', { name: 'Create key' }).click()
  await page.getByTestId('new-secret').waitFor({ timeout: 10_000 })
  await context.close()

  const made = (await gw.admin('GET', '/v1/keys?user_id=bob')).body.data.filter((k: any) => k.name === 'bob-ci')
  const notAlices = (await gw.admin('GET', '/v1/keys?user_id=alice')).body.data.filter((k: any) => k.name === 'bob-ci')
  expect({ bobs: made.length, alices: notAlices.length }).toEqual({ bobs: 1, alices: 0 })
}, TIMEOUT)

test('Usage table: an answer for a filter no longer applied does not replace the applied filter\'s rows', async () => {
  for (const id of ['carol', 'dave']) {
    const { secret } = await gw.userWithKey({ id, max_budget: 5 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
    })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.settled()

  const { context, page } = await signedIn()
  // carol's list answer is slow (a busy records reader); dave's is not.
  await page.route(/\/v1\/usage\?.*user_id=carol/, async (route) => {
    await Bun.sleep(1_500)
    await route.continue()
  })
  const carolsAnswer = page.waitForResponse(/\/v1\/usage\?.*user_id=carol/, { timeout: 10_000 })
  await go(page, '#/usage?user_id=carol')
  await page.getByRole('heading', { level: 1, name: 'Usage' }).waitFor()
  await Bun.sleep(100)
  await go(page, '#/usage?user_id=dave')
  await page.getByRole('cell', { name: 'dave', exact: true }).waitFor({ timeout: 10_000 })
  await carolsAnswer
  await Bun.sleep(300)

  const filter = await page.getByLabel('User id').inputValue()
  const users = await page.$$eval('main > table tbody tr td:nth-child(2)', (cells: any[]) => cells.map((c) => c.textContent))
  await context.close()
  expect({ filter, users }).toEqual({ filter: 'dave', users: ['dave'] })
}, TIMEOUT)

test('a list on its second page, filtered, asks once for the new filter\'s first page, never with the old cursor', async () => {
  await gw.userWithKey({ id: 'many-keys', max_budget: 5 })
  for (let i = 0; i < 25; i++) expect((await gw.admin('POST', '/v1/keys', { user_id: 'many-keys', name: `k${i}` })).status).toBe(201)
  await gw.userWithKey({ id: 'one-key', max_budget: 5 }, { name: 'the-one' })

  const { context, page } = await signedIn()
  await keysOf(page, 'many-keys')
  await page.getByRole('button', { name: 'Next' }).and(page.locator(':enabled')).waitFor({ timeout: 10_000 })
  const secondPage = page.waitForResponse((r) => r.url().includes('/v1/keys?') && r.url().includes('cursor='), { timeout: 10_000 })
  await page.getByRole('button', { name: 'Next' }).click()
  await secondPage

  const asked: string[] = []
  page.on('request', (r) => {
    const url = new URL(r.url())
    if (url.pathname === '/v1/keys') asked.push(url.search)
  })
  await page.getByLabel('Filter by user id').fill('one-key')
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.getByRole('cell', { name: 'the-one' }).waitFor({ timeout: 10_000 })
  await Bun.sleep(300)
  const previousDisabled = await page.getByRole('button', { name: 'Previous' }).isDisabled()
  await context.close()
  expect({ asked, previousDisabled }).toEqual({ asked: ['?user_id=one-key&limit=25'], previousDisabled: true })
}, TIMEOUT)

test('a Usage URL edited by hand to a time that is not one shows the page and says the time was not applied, never a blank console', async () => {
  const { context, page, pageErrors } = await signedIn()
  await go(page, '#/usage?since=2026-12-01&until=soon&model=mock:gpt-mock')
  await page.getByRole('heading', { level: 1, name: 'Usage' }).waitFor({ timeout: 10_000 })
  const said = page.getByRole('alert').filter({ hasText: 'not applied' })
  await said.waitFor({ timeout: 10_000 })
  const text = await said.textContent()
  await page.waitForLoadState('networkidle')
  // The other filters still apply; the fields show no time.
  const shown = { model: await page.getByLabel('Model', { exact: true }).inputValue(), since: await page.getByLabel('Since (UTC)').inputValue() }
  await context.close()
  expect({ text, shown, pageErrors }).toEqual({
    text: 'since "2026-12-01" and until "soon": not a UTC date and time (YYYY-MM-DDTHH:MM), not applied',
    shown: { model: 'mock:gpt-mock', since: '' },
    pageErrors: [],
  })
}, TIMEOUT)

test('a user with a $0 budget (may spend nothing) has a full budget bar saying "no budget", not an empty one', async () => {
  const { secret } = await gw.userWithKey({ id: 'zero-budget', max_budget: 0 })
  const bar = async (page: Page, scope: ReturnType<Page['locator']>) => {
    const meter = scope.locator('meter')
    await meter.waitFor({ timeout: 10_000 })
    const { value, max } = await meter.evaluate((m: any) => ({ value: m.value, max: m.max }))
    return { full: value === max, says: (await scope.textContent())!.includes('no budget') }
  }

  const admin = await signedIn()
  await admin.page.getByRole('navigation', { name: 'console' }).getByRole('link', { name: 'Users', exact: true }).click()
  const inList = await bar(admin.page, admin.page.getByRole('row').filter({ hasText: 'zero-budget' }).getByRole('cell').nth(1))
  await admin.context.close()

  const own = await signedIn(secret)
  const onOwnPage = await bar(own.page, own.page.locator('section').filter({ has: own.page.getByRole('heading', { name: 'Budget of zero-budget' }) }))
  await own.context.close()
  expect({ inList, onOwnPage }).toEqual({ inList: { full: true, says: true }, onOwnPage: { full: true, says: true } })
}, TIMEOUT)
