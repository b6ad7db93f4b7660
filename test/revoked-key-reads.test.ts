/**
 * A key revoked through another process, while this one still has it cached (within TOLLGATE_CACHE_TTL_MS, or
 * with the Redis message lost): the calls that take no hold but show what was recorded for the key (its own view,
 * its usage rows, a stored response) or reach a provider on its behalf (count_tokens) read the key's row now and
 * refuse it 401, as a hold does (README, "Key cache"). They answered from the cache before.
 */
import { expect, test } from 'bun:test'
import type { SpawnedGateway } from './support/gateway'
import { withTwoProcesses } from './support/two-processes'

let a: SpawnedGateway
let b: SpawnedGateway

withTwoProcesses('tollgate-revoked-reads-', (started) => ({ a, b } = started))

test('a key revoked through another process reads nothing of its own here: /v1/key, its usage, a stored response, count_tokens', async () => {
  const { secret, keyId } = await a.userWithKey({ id: 'revoked-reads', max_budget: 1 })
  const auth = { authorization: `Bearer ${secret}` }
  const json = { ...auth, 'content-type': 'application/json' }
  const created = await fetch(`${b.url}/v1/responses`, { method: 'POST', headers: json, body: JSON.stringify({ model: 'mock:gpt-mock', input: 'hi' }) })
  expect(created.status).toBe(200) // B has verified and cached the key; one usage row, one stored response
  const { id: responseId } = (await created.json()) as { id: string }
  const reads = {
    key: () => fetch(`${b.url}/v1/key`, { headers: auth }),
    usage: () => fetch(`${b.url}/v1/key/usage`, { headers: auth }),
    stored: () => fetch(`${b.url}/v1/responses/${responseId}`, { headers: auth }),
    countTokens: () =>
      fetch(`${b.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
      }),
  }
  const statuses = async () => Object.fromEntries(await Promise.all(Object.entries(reads).map(async ([name, read]) => [name, (await read()).status])))
  expect(await statuses()).toEqual({ key: 200, usage: 200, stored: 200, countTokens: 200 })

  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  expect(await statuses()).toEqual({ key: 401, usage: 401, stored: 401, countTokens: 401 })
}, 30_000)
