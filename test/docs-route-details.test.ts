/**
 * What /docs says of a route must be what the route does (SPEC §3: the document is what a developer codes against):
 * - on /v1/messages, `metadata.user_id` names the user to bill only for the master key; a virtual key bills its own
 *   user, and one naming another gets 403 `user_mismatch` (or, under the `tag` policy, is a tag);
 * - the bearer scheme takes "a virtual key or the master key", but GET /v1/key and /v1/key/usage answer the master
 *   key 400 `not_a_virtual_key`: those routes say so;
 * - GET /v1/responses/{id} and …/input_items pass OpenAI's query parameters on to the provider: they are declared,
 *   and still passed on exactly as sent, values the gateway does not check included.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

const STORED = 'resp_docs_query_1'
let upstream: ReturnType<typeof Bun.serve>
const seen: string[] = []
let gw: TestGateway
let secret: string
let doc: any

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const url = new URL(req.url)
      seen.push(`${req.method} ${url.pathname}${url.search}`)
      if (req.method === 'POST') return Response.json({ id: STORED, object: 'response', status: 'completed', output: [], usage: { input_tokens: 5, output_tokens: 1 } })
      if (url.pathname.endsWith('/input_items')) return Response.json({ object: 'list', data: [], has_more: false, first_id: null, last_id: null })
      return Response.json({ id: STORED, object: 'response', status: 'completed', output: [] })
    },
  })
  gw = await startTestGateway({
    config: {
      providers: { plain: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-docs-query-0123456789' } },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'docs-details', max_budget: 10 })).secret
  const made = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', input: 'hi', max_output_tokens: 16 }),
  })
  expect(made.status).toBe(200)
  doc = await (await fetch(`${gw.url}/docs/json`)).json()
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop(true)
})

test('/v1/messages says metadata.user_id bills a user only for the master key; a virtual key naming another is refused', async () => {
  const description = String(doc.paths['/v1/messages'].post.description)
  const billing = description.split(/(?<=\.) /).filter((sentence) => sentence.includes('names the user to bill'))
  expect(billing.filter((sentence) => !sentence.includes('master key'))).toEqual([])
  expect(description).toContain('user_mismatch')

  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 16, metadata: { user_id: 'someone-else' }, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(403)
})

test('GET /v1/key and /v1/key/usage say the master key gets 400 not_a_virtual_key, as it does', async () => {
  for (const path of ['/v1/key', '/v1/key/usage']) {
    expect({ path, says: String(doc.paths[path].get.description ?? '').includes('not_a_virtual_key') }).toEqual({ path, says: true })
    const res = await fetch(gw.url + path, { headers: gw.master })
    expect({ path, status: res.status, code: ((await res.json()) as any).error.code }).toEqual({ path, status: 400, code: 'not_a_virtual_key' })
  }
})

test('the stored-response reads declare the query they pass on, and pass it on as sent', async () => {
  const queryOf = (path: string) => (doc.paths[path].get.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name)
  expect(queryOf('/v1/responses/{id}')).toEqual(expect.arrayContaining(['include', 'stream']))
  expect(queryOf('/v1/responses/{id}/input_items')).toEqual(expect.arrayContaining(['include', 'limit', 'after', 'order']))

  const auth = { authorization: `Bearer ${secret}` }
  // Values the provider judges, not the gateway: a repeated include, a limit out of range, an order it does not know.
  const itemsQuery = '?include=a&include=b&limit=0&after=item_1&order=sideways&extra=1'
  seen.length = 0
  expect((await fetch(`${gw.url}/v1/responses/${STORED}/input_items${itemsQuery}`, { headers: auth })).status).toBe(200)
  expect((await fetch(`${gw.url}/v1/responses/${STORED}?include=reasoning.encrypted_content&stream=maybe`, { headers: auth })).status).toBe(200)
  expect(seen).toEqual([
    `GET /v1/responses/${STORED}/input_items${itemsQuery}`,
    `GET /v1/responses/${STORED}?include=reasoning.encrypted_content&stream=maybe`,
  ])
})
