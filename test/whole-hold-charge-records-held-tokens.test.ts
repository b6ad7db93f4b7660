/**
 * An answer charged its whole hold (no usage came: a stream read to its end, a JSON answer) is recorded with the
 * tokens the hold priced, not 0 in and 0 out: its row's cost is its tokens at the price (here plain rates of 2 and
 * 3 micro-USD a token), and it never says it made fewer tokens than the same request cut one chunk in, which
 * records its input estimate and the output delivered. Recorded as zeros, `tollgate_tokens_total`, the usage
 * summary and the rollups understated what was billed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string
beforeAll(async () => {
  mock = startMockProvider({ latencyMs: 1, chunks: 6, chunkDelayMs: 80 })
  gw = await startTestGateway({
    mock,
    config: { metrics_enabled: true, log_level: 'silent', pricing: { 'mock:gpt-mock': { input_per_million: 2, output_per_million: 3 } } },
  })
  secret = (await gw.userWithKey({ id: 'counted' })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const body = JSON.stringify({ model: 'mock:gpt-mock', stream: true, messages: [{ role: 'user', content: 'Write me a long story about a lighthouse.' }], max_tokens: 100 })
const send = (signal?: AbortSignal) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', signal, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body })

const lastRow = () => gw.query<{ status: string; cost: number; reserved: number; prompt_tokens: number; completion_tokens: number }>(
  'SELECT status, cost, reserved, prompt_tokens, completion_tokens FROM usage ORDER BY id DESC LIMIT 1',
)[0]!

test('a stream finished without a usage is recorded with the tokens it was charged for, not 0', async () => {
  // Cut by its client after the first chunk: no usage came, so it is charged its input estimate and the output delivered.
  const ctl = new AbortController()
  const cutRes = await send(ctl.signal)
  expect(cutRes.status).toBe(200)
  const reader = cutRes.body!.getReader()
  // Past the role chunk, into the text: some output is delivered before the cut.
  let seen = ''
  while (!seen.includes('"content":"')) seen += new TextDecoder().decode((await reader.read()).value)
  await reader.read()
  ctl.abort()
  await Bun.sleep(300)
  await gw.settled()
  const cut = lastRow()
  expect(cut.status).toBe('aborted')
  expect(cut.cost).toBeGreaterThan(0)

  // The same request, read to its end: the provider finishes without a usage chunk.
  mock.queue('no-usage')
  const whole = await send()
  expect(whole.status).toBe(200)
  const text = await whole.text()
  expect(text).toContain('[DONE]')
  await gw.settled()
  const finished = lastRow()
  expect(finished.status).toBe('ok')
  expect(finished.cost).toBe(finished.reserved)
  expect(finished.cost).toBeGreaterThan(cut.cost)
  expect(finished.cost).toBe(2 * finished.prompt_tokens + 3 * finished.completion_tokens)

  // Charged more than the cut stream, it must not be recorded as having made fewer tokens.
  expect(cut.prompt_tokens).toBeGreaterThan(0)
  expect(cut.completion_tokens).toBeGreaterThan(0)
  expect({ prompt_tokens: finished.prompt_tokens >= cut.prompt_tokens, completion_tokens: finished.completion_tokens >= cut.completion_tokens })
    .toEqual({ prompt_tokens: true, completion_tokens: true })
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
  const tokens = (kind: string) => Number(metrics.split('\n').find((l) => l.startsWith(`tollgate_tokens_total{model="mock:gpt-mock",kind="${kind}"} `))?.split(' ').pop() ?? 0)
  expect(tokens('prompt')).toBeGreaterThanOrEqual(2 * cut.prompt_tokens)
})

test('a JSON answer without a usage, charged its whole hold, is not recorded as 0 tokens in and 0 out', async () => {
  mock.queue('no-usage')
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'Write me a long story about a lighthouse.' }], max_tokens: 100 }),
  })
  expect(res.status).toBe(200)
  const answer = (await res.json()) as { usage?: unknown; choices: Array<{ message: { content: string } }> }
  expect(answer.usage).toBeUndefined()
  expect(answer.choices[0]!.message.content.length).toBeGreaterThan(0)
  await gw.settled()
  const row = lastRow()
  expect(row.status).toBe('ok')
  expect(row.cost).toBe(row.reserved)
  expect(row.cost).toBeGreaterThan(0)
  // Billed for a prompt the provider read and an answer it wrote: the row must not say neither happened.
  expect({ prompt_tokens: row.prompt_tokens > 0, completion_tokens: row.completion_tokens > 0 }).toEqual({ prompt_tokens: true, completion_tokens: true })
  expect(row.completion_tokens).toBe(100)
  expect(row.cost).toBe(2 * row.prompt_tokens + 3 * row.completion_tokens)
})
