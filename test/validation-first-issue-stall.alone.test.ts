/**
 * Body validation (zod, through Elysia) looked at every element of a client's list and built an issue for each one
 * that was wrong, before the gateway answered with the first: a 4 MB chat body whose one message's `content` is
 * 2,000,000 `1`s (the content union tries both branches, each element failing `contentPart`), or an 8 MB Responses
 * body whose `input` is 4,000,000 `1`s, was refused with a 400 naming only the first issue after 3-10 s of the
 * request thread (and the error handler's `all` validated it all over again). Every other tenant waited meanwhile.
 * Validation stops at the first bad element (src/routes/schemas/first-issue.ts), on every route that takes a list,
 * whether the element has the wrong type or fails a check. The lists here stay under the body's own bounds on values
 * and object members (src/http/json-body.ts: a body past them is refused before it is parsed), so that what is
 * measured is validation: 900,000 elements (450,000 empty objects, each a bracket and a comma) took 1.5-4.5 s of it before.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'

let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  gw = await spawnGateway({ config: { log_level: 'warn' } })
  ;({ secret } = await gw.userWithKey({ id: 'first-issue', max_budget: 10 }))
})

afterAll(async () => {
  await gw?.stop()
})

async function refusedWithoutStall(path: string, body: unknown, field: string) {
  const sent = fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, text: await res.text() }))
  const worst = await worstHealthDuring(gw.url, sent)
  const answer = await sent
  expect(answer.status).toBe(400)
  expect(JSON.parse(answer.text).error.message).toStartWith(`Invalid body: ${field}:`)
  console.log(`${path}: worst /health meanwhile ${worst.toFixed(0)} ms`)
  expect(worst).toBeLessThan(500)
}

const ones = (n: number) => Array.from({ length: n }, () => 1)

test('chat: a content list of 900,000 non-parts is refused without stalling the gateway: /health within 500 ms meanwhile', async () => {
  await refusedWithoutStall('/v1/chat/completions', { model: 'mock:gpt-mock', messages: [{ role: 'user', content: ones(900_000) }] }, 'messages.0.content')
}, 120_000)

test('responses: an input list of 900,000 non-items is refused without stalling the gateway: /health within 500 ms meanwhile', async () => {
  await refusedWithoutStall('/v1/responses', { model: 'mock:gpt-mock', input: ones(900_000) }, 'input')
}, 120_000)

test('messages: a content list of 900,000 non-blocks is refused without stalling the gateway: /health within 500 ms meanwhile', async () => {
  await refusedWithoutStall('/v1/messages', { model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: ones(900_000) }] }, 'messages.0.content')
}, 120_000)

// A check that fails (not a wrong type) must stop a list too.
test('chat: 450,000 tools without their type are refused without stalling the gateway: /health within 500 ms meanwhile', async () => {
  const tools = Array.from({ length: 450_000 }, () => ({}))
  await refusedWithoutStall('/v1/chat/completions', { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], tools }, 'tools.0.type')
}, 120_000)

test('embeddings: an input of 900,000 negative token ids is refused without stalling the gateway: /health within 500 ms meanwhile', async () => {
  await refusedWithoutStall('/v1/embeddings', { model: 'mock:text-embedding-mock', input: Array.from({ length: 900_000 }, () => -1) }, 'input')
}, 120_000)
