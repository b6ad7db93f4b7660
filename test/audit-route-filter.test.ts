/**
 * `GET /v1/audit?route=` lists the request log's rows of that route only (SPEC §3: the request log, filterable). An
 * operator tracing what a key did on one route (its sign-ins, its `/v1/key` reads) must not be handed every row of the
 * key as if they were that route's. The existing tests filter a user whose rows are all of one route.
 * Kills: records.ts `route: query.route` dropped from the auditRows query.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))

test('?route= narrows a key\'s rows to that route', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'route-audited' })
  const auth = { authorization: `Bearer ${secret}` }
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    await r.text()
  }
  await (await fetch(`${gw.url}/v1/key`, { headers: auth })).text()
  await gw.settled()
  const routes = async (q: string) => (await gw.admin('GET', `/v1/audit?key_id=${keyId}${q}`)).body.data.map((r: any) => r.route).sort()
  expect(await routes('')).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/key'])
  expect(await routes('&route=/v1/key')).toEqual(['/v1/key'])
  expect(await routes('&route=/v1/chat/completions')).toEqual(['/v1/chat/completions', '/v1/chat/completions'])
})
