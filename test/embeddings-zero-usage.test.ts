import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6: "A request the provider received is never free." An embeddings answer that carries the vectors of a
 * non-empty input beside a usage of 0 prompt tokens (a proxy's zeros, a server that does not count) says
 * nothing about what the call cost: no tokenizer reads 20 inputs of text as 0 tokens. The gateway already
 * treats the chat, Messages and Responses form of this (0 output beside the output the answer carries) as no
 * usage and charges the hold (test/json-zero-usage-beside-output.test.ts); so is it for embeddings: the answer
 * pays its hold.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

const USER = 'team-embed-zeros'
const INPUTS = Array.from({ length: 20 }, (_, i) => `document number ${i}: ${'some words to embed '.repeat(50)}`)

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:embed': { input_per_million: 100, output_per_million: 0 } },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('embeddings of 20 non-empty inputs beside a usage of 0 prompt tokens: not settled at $0', async () => {
  upstream.answer(() =>
    jsonResponse({
      object: 'list',
      model: 'embed',
      data: INPUTS.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3, 0.4] })),
      usage: { prompt_tokens: 0, total_tokens: 0 },
    }),
  )
  await gw.settled()
  const before = (await gw.admin('GET', `/v1/users/${USER}`)).body
  const res = await fetch(gw.url + '/v1/embeddings', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:embed', input: INPUTS }),
  })
  expect(res.status).toBe(200)
  expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(20)
  await gw.settled()
  const after = (await gw.admin('GET', `/v1/users/${USER}`)).body
  const row = gw.query<{ cost: number; reserved: number; prompt_tokens: number }>('SELECT cost, reserved, prompt_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!
  expect(after.reserved).toBe(0)
  expect(row.reserved).toBeGreaterThan(0)
  // A usage of no input beside the embeddings of ~20 KB of text is no usage: the answer pays its hold, as a
  // chat answer with a usage of zeros does. Currently the row says cost 0, and spend does not move.
  expect(row.cost).toBe(row.reserved)
  expect(Math.round((after.spend - before.spend) * 1e6)).toBe(row.reserved)
})
