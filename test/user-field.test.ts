import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

/**
 * The body's user field, per key: Claude Code always sends `metadata.user_id` as a JSON string of device
 * and session ids. A key at `tag` is billed to its own user and the value goes upstream as the end-user
 * tag; at `reject` it is a 403; unset, the global TOLLGATE_REJECT_USER_MISMATCH decides.
 */
const CLAUDE_CODE_USER_ID = JSON.stringify({ device_id: 'd3adb33f', account_uuid: '', session_id: '5e551on-1d' })

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { pricing: { 'mockant:claude-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

let n = 0
async function keyWith(policy: Record<string, unknown>) {
  const userId = `uf-user-${++n}`
  const k = await gw.userWithKey({ id: userId }, policy)
  return { userId, ...k, anthropic: new Anthropic({ apiKey: k.secret, baseURL: gw.url, maxRetries: 0 }) }
}
const ask = (client: Anthropic, model = 'mockant:claude-mock') =>
  client.messages.create({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: CLAUDE_CODE_USER_ID } })

describe('a key whose user field is a tag', () => {
  test("Claude Code's metadata.user_id: served, billed to the key's user, forwarded upstream unchanged", async () => {
    const key = await keyWith({ user_field: 'tag' })
    const message = await ask(key.anthropic)
    expect(message.content[0]).toMatchObject({ type: 'text' })
    expect((mock.calls[0]!.body as any).metadata.user_id).toBe(CLAUDE_CODE_USER_ID)
    await gw.settled()
    const rows = gw.query('SELECT user_id, key_id FROM usage WHERE key_id = ?', key.keyId)
    expect(rows).toEqual([{ user_id: key.userId, key_id: key.keyId }])
  })

  test('translated to an OpenAI-type model, the tag goes upstream as `user` (longer than OpenAI takes: its SHA-256)', async () => {
    const key = await keyWith({ user_field: 'tag' })
    await ask(key.anthropic, 'mock:gpt-mock')
    expect(CLAUDE_CODE_USER_ID.length).toBeGreaterThan(64)
    expect((mock.calls[0]!.body as any).user).toBe(new Bun.CryptoHasher('sha256').update(CLAUDE_CODE_USER_ID).digest('hex'))
  })

  test('the OpenAI `user` field follows the same policy', async () => {
    const key = await keyWith({ user_field: 'tag' })
    const openai = new OpenAI({ apiKey: key.secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
    await openai.chat.completions.create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], user: 'someone-else' })
    expect((mock.calls[0]!.body as any).user).toBe('someone-else')
  })
})

describe('the policy is settable at create and patch, and shown', () => {
  test('unset, the global setting (reject) decides: 403 user_mismatch, nothing sent upstream', async () => {
    const key = await keyWith({})
    expect((await gw.admin('GET', `/v1/keys/${key.keyId}`)).body.user_field).toBeNull()
    const err = await ask(key.anthropic).catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError)
    expect(mock.calls.length).toBe(0)
  })

  test('patched to tag, the same key is served at once; patched back to reject, refused again', async () => {
    const key = await keyWith({ user_field: 'reject' })
    expect((await ask(key.anthropic).catch((e) => e)).status).toBe(403)
    const patched = await gw.admin('PATCH', `/v1/keys/${key.keyId}`, { user_field: 'tag' })
    expect(patched.body.user_field).toBe('tag')
    expect((await ask(key.anthropic)).type).toBe('message')
    await gw.admin('PATCH', `/v1/keys/${key.keyId}`, { user_field: 'reject' })
    expect((await ask(key.anthropic).catch((e) => e)).status).toBe(403)
  })

  test('an unknown policy is a 400 naming the field', async () => {
    const r = await gw.admin('POST', '/v1/keys', { user_id: 'uf-user-1', user_field: 'ignore' })
    expect(r.status).toBe(400)
    expect(r.body.error.message).toContain('user_field')
  })
})

describe('a key at reject under a global tag setting', () => {
  test('is refused, while a key without a policy is served', async () => {
    const tagging = await startTestGateway({ mock, config: { reject_user_mismatch: false, pricing: { 'mockant:claude-mock': { input_per_million: 1, output_per_million: 2 } } } })
    try {
      const strict = await tagging.userWithKey({ id: 'strict' }, { user_field: 'reject' })
      const loose = await tagging.userWithKey({ id: 'loose' })
      const client = (secret: string) => new Anthropic({ apiKey: secret, baseURL: tagging.url, maxRetries: 0 })
      expect((await ask(client(strict.secret)).catch((e) => e)).status).toBe(403)
      expect((await ask(client(loose.secret))).type).toBe('message')
    } finally {
      await tagging.stop()
    }
  })
})

describe('the master key still names whom it bills', () => {
  test('metadata.user_id naming an unknown user is a 404, whatever any key policy', async () => {
    const master = new Anthropic({ apiKey: MASTER_KEY, baseURL: gw.url, maxRetries: 0 })
    const err = await ask(master).catch((e) => e)
    expect(err.status).toBe(404)
  })
})
