/**
 * With "only those listed" chosen, a key's models field of "," or " , " passes the field's `required`, and the
 * form sent allowed_models: [], which locks the key out of every model (the "no model" choice, which the
 * operator did not make; the CLI refuses an empty list). The form refuses it with a message and sends nothing,
 * on a new key and on an edit. A listed model spelt "mock: gpt-mock" is sent as the model it names.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

/** A signed-in console on the keys of `userId`; `writes` collects every change it sends. */
async function keysOf(userId: string) {
  const { context, page } = await signedInConsole(browser, gw)
  const writes: string[] = []
  page.on('request', (r) => r.method() !== 'GET' && writes.push(`${r.method()} ${new URL(r.url()).pathname}`))
  await page.evaluate((id) => ((globalThis as any).location.hash = `#/keys?user_id=${id}`), userId)
  await page.getByRole('heading', { level: 1, name: `Keys of ${userId}` }).waitFor()
  return { context, page, writes }
}

const EMPTY_LISTS = [',', ' , ', ' ,, ']
const REFUSAL = 'Models (comma-separated) must name at least one model'

test('a new key allowed "only those listed" with a list naming no model is refused with a message; no key is created', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'empty-list' })).status).toBe(201)
  const { context, page, writes } = await keysOf('empty-list')
  const form = page.getByRole('form', { name: 'New key' })
  await form.getByLabel('Allowed models').selectOption('only')
  for (const list of EMPTY_LISTS) {
    await form.getByLabel('Models (comma-separated)').fill(list)
    await form.getByRole('button', { name: 'Create key' }).click()
    await form.getByRole('alert').filter({ hasText: REFUSAL }).waitFor({ timeout: 10_000 })
    await form.getByLabel('Models (comma-separated)').fill('')
  }
  await context.close()
  expect(writes).toEqual([])
  expect((await gw.admin('GET', '/v1/keys?user_id=empty-list')).body.data).toEqual([])
}, 60_000)

test('an edit to a list naming no model is refused and the key keeps its models; "mock: gpt-mock" is sent as mock:gpt-mock', async () => {
  const { keyId } = await gw.userWithKey({ id: 'edit-list' }, { allowed_models: ['mock:gpt-mock'] })
  const { context, page, writes } = await keysOf('edit-list')
  await page.getByRole('row').filter({ hasText: keyId }).getByRole('button', { name: 'Edit', exact: true }).click()
  const form = page.getByRole('form', { name: `Edit key ${keyId}` })
  expect(await form.getByLabel('Allowed models').inputValue()).toBe('only')
  await form.getByLabel('Models (comma-separated)').fill(' , ')
  await form.getByRole('button', { name: 'Save' }).click()
  await form.getByRole('alert').filter({ hasText: REFUSAL }).waitFor({ timeout: 10_000 })
  expect(writes).toEqual([])
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.allowed_models).toEqual(['mock:gpt-mock'])

  await form.getByLabel('Models (comma-separated)').fill('mock: gpt-mock, mock / gpt-other,')
  await form.getByRole('button', { name: 'Save' }).click()
  await form.waitFor({ state: 'detached', timeout: 10_000 })
  await context.close()
  expect(writes).toEqual([`PATCH /v1/keys/${keyId}`])
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.allowed_models).toEqual(['mock:gpt-mock', 'mock/gpt-other'])
}, 60_000)
