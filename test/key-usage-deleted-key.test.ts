/**
 * A key deleted with its user through another process, while this one still has it cached (within
 * TOLLGATE_CACHE_TTL_MS, or without Redis to tell it): GET /v1/key answered 401, as SPEC §3 wants for an unknown
 * key, but GET /v1/key/usage beside it did not check and showed the deleted user's usage rows (request ids,
 * models, costs) — records of a key that no longer exists. Both read the key's row now (src/keys/live-key.ts).
 */
import { expect, test } from 'bun:test'
import type { SpawnedGateway } from './support/gateway'
import { withTwoProcesses } from './support/two-processes'

let a: SpawnedGateway
let b: SpawnedGateway

withTwoProcesses('tollgate-key-usage-', (started) => ({ a, b } = started))

test('a key deleted with its user through another process: /v1/key/usage refuses it (401) as /v1/key does', async () => {
  const { secret } = await a.userWithKey({ id: 'gone-usage', max_budget: 1 })
  const auth = { authorization: `Bearer ${secret}` }
  const chat = await fetch(`${b.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(chat.status).toBe(200) // B has verified and cached the key; one usage row
  expect((await fetch(`${b.url}/v1/key/usage`, { headers: auth })).status).toBe(200)

  expect((await a.admin('DELETE', '/v1/users/gone-usage')).status).toBe(200)
  const key = await fetch(`${b.url}/v1/key`, { headers: auth })
  const usage = await fetch(`${b.url}/v1/key/usage`, { headers: auth })
  const rows = ((await usage.json()) as { data?: unknown[] }).data?.length
  expect({ key: key.status, usage: usage.status, rows }).toEqual({ key: 401, usage: 401, rows: undefined })
}, 30_000)
