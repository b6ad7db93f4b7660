/**
 * GET /v1/keys's `user_blocked` (the console's Keys page shows such a key "user blocked") was documented as "the
 * gateway refuses the key (403) whatever its own state": a revoked key of a blocked user is refused 401, and an active
 * one still answers GET /v1/models and GET /v1/key (README). The description now says what the gateway does.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test("user_blocked's documented meaning matches what the gateway does with a blocked user's keys", async () => {
  const active = await gw.userWithKey({ id: 'doc-blocked' })
  const revoked = await gw.admin('POST', '/v1/keys', { user_id: 'doc-blocked' })
  expect((await gw.admin('DELETE', `/v1/keys/${revoked.body.id}`)).status).toBe(200)
  expect((await gw.admin('PATCH', '/v1/users/doc-blocked', { blocked: true })).status).toBe(200)

  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, { get: { description: string } }> }
  expect(doc.paths['/v1/keys']?.get.description).toContain('refused 403 `user_blocked` (a revoked or expired key is refused 401 first); `GET /v1/models` and `GET /v1/key` still answer')
  const listed = (await gw.admin('GET', '/v1/keys?user_id=doc-blocked')).body.data
  expect(listed.map((k: any) => k.user_blocked)).toEqual([true, true])

  const status = async (secret: string, path: string) => (await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${secret}` } })).status
  const chat = async (secret: string) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }
  }
  // As documented: the active key's calls refused 403 user_blocked, the revoked key 401 first, the two reads answered.
  expect({
    activeKeyChat: await chat(active.secret),
    revokedKeyModels: await status(revoked.body.key, '/v1/models'),
    activeKeyModels: await status(active.secret, '/v1/models'),
    activeKeyOwnView: await status(active.secret, '/v1/key'),
  }).toEqual({ activeKeyChat: { status: 403, code: 'user_blocked' }, revokedKeyModels: 401, activeKeyModels: 200, activeKeyOwnView: 200 })
})
