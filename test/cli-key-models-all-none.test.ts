/**
 * A key's `--models` in the admin CLI says which empty it means, as the console does: `all` is every model
 * (allowed_models null), `none` is no model at all ([]). `--models none` used to clear the field to null, which
 * the gateway reads as every model: an operator locking a key out of every model opened it to all of them.
 */
import { beforeAll, expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))
beforeAll(async () => {
  await gw.admin('POST', '/v1/users', { id: 'cli-models', max_budget: 1 })
})

const tollgate = (args: string[]) => runTollgate(gw.url, args, {})
const chatStatus = async (secret: string) =>
  (await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })).status

test('keys update --models none locks the key out of every model; --models all opens it to every model', async () => {
  const created = await tollgate(['keys', 'create', 'cli-models', '--models', 'mock:gpt-mock', '--json'])
  expect(created.code).toBe(0)
  const key = JSON.parse(created.stdout) as { id: string; key: string }
  expect(await chatStatus(key.key)).toBe(200)

  expect((await tollgate(['keys', 'update', key.id, '--models', 'none'])).code).toBe(0)
  expect((await gw.admin('GET', `/v1/keys/${key.id}`)).body.allowed_models).toEqual([])
  expect(await chatStatus(key.key)).toBe(403)

  expect((await tollgate(['keys', 'update', key.id, '--models', 'all'])).code).toBe(0)
  expect((await gw.admin('GET', `/v1/keys/${key.id}`)).body.allowed_models).toBeNull()
  expect(await chatStatus(key.key)).toBe(200)
})

test('keys create --models none makes a key that may call no model', async () => {
  const created = await tollgate(['keys', 'create', 'cli-models', '--models', 'none', '--json'])
  expect(created.code).toBe(0)
  expect(JSON.parse(created.stdout).allowed_models).toEqual([])
})

test('an empty --models list is refused, never read as none or all', async () => {
  for (const list of ['', ',', ' , ']) {
    const refused = await tollgate(['keys', 'create', 'cli-models', '--models', list])
    expect({ list, code: refused.code, says: refused.stderr.includes('say all or none') }).toEqual({ list, code: 2, says: true })
  }
})

test('the usage text names both words', async () => {
  const help = await tollgate(['keys', 'update', '--help'])
  expect(help.stdout).toContain('--models a,b|all|none')
})
