/**
 * README ("Free calls in flight": `count_tokens` … one key has at most 8 in flight … past its key's 8,
 * `429` `rate_limit_exceeded`) and the route's OpenAPI description (FREE_CALL_REFUSALS): a count of a model on an
 * OpenAI-compatible provider, counted by the gateway on its tokenizer thread, takes a free-call slot as a provider's
 * count does. It took none (src/routes/count-tokens.ts): one key's counts queued on the shared thread without bound,
 * each with up to EXACT_BYTES of text. The gateway runs in a child process so that its tokenizer thread is cold: the
 * first count loads the tables (about a second), so the counts sent together are all in flight at once.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { FREE_CALLS_PER_KEY } from '../src/providers/free-call-slots'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'flood', max_budget: 1 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

const count = (content: string) =>
  fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content }] }),
  }).then(async (r) => ({ status: r.status, type: ((await r.json()) as any)?.error?.type as string | undefined }))

test(`one key's local count_tokens are bounded at ${FREE_CALLS_PER_KEY} in flight, as every free call is`, async () => {
  const answers = await Promise.all(Array.from({ length: FREE_CALLS_PER_KEY + 4 }, (_, i) => count(`hello ${i}`)))
  const statuses = answers.map((a) => a.status)
  // All were in flight together (the tables were loading): past the key's 8, 429 (Anthropic's shape on this route).
  expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(FREE_CALLS_PER_KEY)
  expect(answers.some((a) => a.status === 429 && a.type === 'rate_limit_error')).toBe(true)
}, 60_000)
