/**
 * A user deleted through one process while another still has its key cached (within TOLLGATE_CACHE_TTL_MS, or
 * with Redis down). The key went with its user, so it is an unknown key: SPEC §3 says 401. The hold once answered
 * 404 `user_not_found` ("No user with id …"): decideHold checked the user before the key (src/budget/ledger.ts).
 * Found by a chaos run across replicas; test/hold-deleted-user-key.test.ts is the ledger's own case.
 */
import { expect, test } from 'bun:test'
import type { SpawnedGateway } from './support/gateway'
import { withTwoProcesses } from './support/two-processes'

let a: SpawnedGateway
let b: SpawnedGateway

withTwoProcesses('tollgate-stale-key-', (started) => ({ a, b } = started))

const chat = (url: string, key: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })

test('a key whose user was deleted by another process is refused 401 (an unknown key), not 404 user_not_found', async () => {
  const { secret } = await a.userWithKey({ id: 'gone', max_budget: 1 })
  expect((await chat(b.url, secret)).status).toBe(200) // B has verified and cached the key
  // A user is deleted only without a hold in flight: B's settlement is queued until a read of its spend flushes it.
  expect((await fetch(`${b.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  expect((await a.admin('DELETE', '/v1/users/gone')).status).toBe(200)
  const res = await chat(b.url, secret)
  const body = (await res.json()) as { error?: { code?: string } }
  expect({ status: res.status, code: body.error?.code }).toEqual({ status: 401, code: expect.any(String) })
  expect(JSON.stringify(body)).not.toContain('No user with id')
}, 30_000)
