import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string
const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')

beforeAll(async () => {
  mock = startMockProvider({ chunks: 60, chunkDelayMs: 5, completionText: words })
  gw = await startTestGateway({ mock })
  secret = (await gw.userWithKey({ id: 'slow-reader', max_budget: 1 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (stream: boolean) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', stream, messages: [{ role: 'user', content: 'take it slowly' }] }),
  })

test('a client reading a stream slowly gets all of it, is charged its usage, and holds nobody else up', async () => {
  const res = await chat(true)
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let reads = 0
  // Other clients are served at full speed while this one dawdles.
  const others = (async () => {
    await Bun.sleep(100)
    const started = performance.now()
    const [health, answer] = await Promise.all([fetch(`${gw.url}/health`), chat(false)])
    expect(health.status).toBe(200)
    expect(answer.status).toBe(200)
    return performance.now() - started
  })()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
    reads++
    await Bun.sleep(15)
  }
  expect(await others).toBeLessThan(1_000)
  const content = text
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '')
    .join('')
  expect(content).toBe(words)
  expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
  expect(reads).toBeGreaterThan(5) // it really was read piece by piece

  await gw.settled()
  const row = gw.query("SELECT status, cost, reserved, completion_tokens FROM usage WHERE stream = 1")[0]
  expect(row.status).toBe('ok')
  expect(row.completion_tokens).toBe(60)
  expect(row.cost).toBeLessThanOrEqual(row.reserved)
  expect((await gw.admin('GET', '/v1/users/slow-reader')).body.reserved).toBe(0)
  expect((await fetch(`${gw.url}/health`)).status).toBe(200)
})
