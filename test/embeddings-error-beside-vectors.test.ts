import { afterAll, beforeAll, expect, test } from 'bun:test'
import { jsonResponse, scriptedGateway } from './support/scripted-upstream'

/**
 * Embedding vectors beside an `error` (no usage) are an answer the provider made and bills: relayed and paid
 * the hold, not taken for "only an error" and released at $0 (a request the provider embedded is never free).
 */
let s: Awaited<ReturnType<typeof scriptedGateway>>
const USER = 'team-rt-by-embed-error'
beforeAll(async () => {
  s = await scriptedGateway(USER)
})
afterAll(async () => {
  await s.stop()
})

test('embeddings vectors beside an error and no usage are relayed and pay the hold, not released at $0', async () => {
  s.upstream.answer(() =>
    jsonResponse({
      object: 'list', model: 'm',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }, { object: 'embedding', index: 1, embedding: [0.3, 0.4] }],
      error: { message: 'partial failure' },
    }),
  )
  await s.gw.settled()
  const before = (await s.gw.admin('GET', `/v1/users/${USER}`)).body
  const res = await fetch(s.gw.url + '/v1/embeddings', {
    method: 'POST',
    headers: { authorization: `Bearer ${s.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', input: ['a'.repeat(2000), 'b'] }),
  })
  const text = await res.text()
  await s.gw.settled()
  const after = (await s.gw.admin('GET', `/v1/users/${USER}`)).body
  const row = s.gw.query<{ cost: number; reserved: number }>('SELECT cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!
  expect(row.reserved).toBeGreaterThan(0)
  // Currently: 502 "Upstream provider answered 200: partial failure", row cost 0 of 2017 µ$ held.
  expect(res.status).toBe(200)
  expect(JSON.parse(text).data).toHaveLength(2)
  expect(row.cost).toBe(row.reserved)
  expect(Math.round((after.spend - before.spend) * 1e6)).toBe(row.reserved)
})
