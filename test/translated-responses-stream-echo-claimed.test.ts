/**
 * A stream's body claim drops from four times its bytes to three once the request has gone upstream, because a stream
 * keeps nothing parsed from its body. A translated Responses stream does keep some: its final response object repeats
 * the request's `instructions` and `tools`, as the format does, so it holds them to its end (red team jo: 700 KB of
 * instructions or tools, 10 streams open, live heap per stream 0.99-1.15 MB against chat's 0.37 and native Responses'
 * 0.30). Its claim stays at four times its bytes.
 *
 * Observed through the in-flight bound (1.75 times the read budget): with the budget at 4.2 bodies, one open stream
 * and a second body of another caller fit at 3 + 4 bodies' worth (7 < 7.35), not at 4 + 4.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const BODY_BYTES = 700_000
let mock: MockProvider
let gw: TestGateway
const secrets: string[] = []

beforeAll(async () => {
  mock = startMockProvider({ chunks: 8, chunkDelayMs: 1_000 })
  gw = await startTestGateway({
    config: {
      providers: {
        mock: { type: 'openai', base_url: `${mock.url}/v1`, api_key: 'sk-upstream-secret-0123456789' },
        mockchat: { type: 'openai', base_url: `${mock.url}/v1`, api_key: 'sk-upstream-secret-0123456789', responses: 'chat' },
        mockant: { type: 'anthropic', base_url: mock.url, api_key: 'sk-ant-upstream-secret-0123456789' },
      },
      pricing: {
        'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
        'mockchat:gpt-mock': { input_per_million: 1, output_per_million: 2 },
        'mockant:claude-sonnet-4-5': { input_per_million: 1, output_per_million: 2 },
      },
      body_read_budget_bytes: Math.floor(4.2 * BODY_BYTES),
    },
  })
  for (const id of ['first', 'second']) secrets.push((await gw.userWithKey({ id, max_budget: 100 })).secret)
}, 30_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

const post = (model: string, secret: string) => {
  const body = { model, stream: true, store: false, max_output_tokens: 64, input: 'hi', instructions: '' }
  body.instructions = 'x'.repeat(BODY_BYTES - JSON.stringify(body).length)
  return fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

/** The second caller's status (with its error code, if refused) while the first caller's stream on `model` is open past its first event. */
async function secondBesideOpenStream(model: string): Promise<string> {
  const first = await post(model, secrets[0]!)
  expect(first.status).toBe(200)
  const reader = first.body!.getReader()
  await reader.read()
  const second = await post(model, secrets[1]!)
  const answer = second.status === 200 ? (await second.body?.cancel(), '200') : `${second.status} ${((await second.json()) as { error?: { code?: string } }).error?.code}`
  await reader.cancel()
  await Bun.sleep(300)
  return answer
}

test('a native Responses stream keeps nothing of its body: its claim drops, and a second body fits beside it', async () => {
  expect(await secondBesideOpenStream('mock:gpt-mock')).toBe('200')
})

test('a translated Responses stream keeps its echo: its claim stays at its peak, and a second body does not fit beside it', async () => {
  expect({ viaChat: await secondBesideOpenStream('mockchat:gpt-mock'), viaAnthropic: await secondBesideOpenStream('mockant:claude-sonnet-4-5') }).toEqual({
    viaChat: '503 body_read_busy',
    viaAnthropic: '503 body_read_busy',
  })
})
