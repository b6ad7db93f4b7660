/**
 * SPEC §8: an `api_request_log` row records each /v1 request's latency. For a streamed answer the row was written
 * when the response's headers went out (Elysia's after-response hook), so a chat stream that took ~1.5 s was in
 * /v1/audit with a latency of a few milliseconds, and a created_at seconds before its usage row's. The row is now
 * written when the body ends, or when its client leaves, with the time the request took; the other streamed bodies
 * (a provider's body passed through, the CSV export) are logged at their end too, and never left unlogged.
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

const CHUNKS = 10
const CHUNK_DELAY_MS = 150

let gw: TestGateway
let secret: string
withMockGateway(
  { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.0005 } } },
  (s) => ({ gw } = s),
  { chunks: CHUNKS, chunkDelayMs: CHUNK_DELAY_MS },
)
beforeAll(async () => {
  secret = (await gw.userWithKey({ id: 'stream-latency', max_budget: 10 })).secret
})

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  })
const streamChat = (signal?: AbortSignal) =>
  post('/v1/chat/completions', { model: 'mock:gpt-mock', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }, signal)

/** The request log's row for a request id. */
const loggedRow = async (requestId: string) => {
  await gw.settled()
  const rows = (await gw.admin('GET', '/v1/audit?user_id=stream-latency&limit=100')).body.data as any[]
  return rows.find((r) => r.request_id === requestId)
}
const usageRow = async (requestId: string) =>
  ((await gw.admin('GET', '/v1/usage?user_id=stream-latency&limit=100')).body.data as any[]).find((r) => r.request_id === requestId)

test('a streamed request is logged with the time it took, not its time to first byte', async () => {
  const started = performance.now()
  const res = await streamChat()
  expect(res.status).toBe(200)
  await res.text()
  expect(performance.now() - started).toBeGreaterThan(1200)

  const requestId = res.headers.get('x-request-id')!
  const logged = await loggedRow(requestId)
  const usage = await usageRow(requestId)
  expect(usage.latency_ms).toBeGreaterThan(1200)
  expect(logged.latency_ms).toBeGreaterThan(1200)
  // Both are taken as the stream ends; the log's counts from the request's arrival, before the provider was called:
  // the difference is the time to the call, the hold's above all, bounded by the database deadline (3 s). It was
  // 1.4 s on the Postgres store in a loaded engines run.
  expect(logged.latency_ms).toBeGreaterThanOrEqual(usage.latency_ms)
  expect(logged.latency_ms - usage.latency_ms).toBeLessThan(3_000)
  expect(Date.parse(logged.created_at)).toBeGreaterThanOrEqual(Date.parse(usage.created_at) - 500)
})

test('a client that leaves mid-stream: the row is written when it leaves, with the time until then', async () => {
  const leave = new AbortController()
  const res = await streamChat(leave.signal)
  expect(res.status).toBe(200)
  const requestId = res.headers.get('x-request-id')!
  const reader = res.body!.getReader()
  await reader.read()
  await Bun.sleep(3 * CHUNK_DELAY_MS)
  leave.abort()
  await reader.read().catch(() => {})

  let logged: any
  for (let i = 0; i < 50 && !logged; i++) {
    logged = await loggedRow(requestId)
    if (!logged) await Bun.sleep(50)
  }
  expect(logged).toMatchObject({ status: 200, route: '/v1/chat/completions' })
  expect(logged.latency_ms).toBeGreaterThanOrEqual(3 * CHUNK_DELAY_MS)
  const usage = await usageRow(requestId)
  expect(usage.status).toBe('aborted')
  expect(logged.latency_ms).toBeGreaterThanOrEqual(usage.latency_ms)
  expect(logged.latency_ms - usage.latency_ms).toBeLessThan(500)
})

test("a provider's body passed through and the CSV export are logged once they end", async () => {
  const speech = await post('/v1/audio/speech', { model: 'mock:tts', input: 'the sea', voice: 'alloy' })
  expect(speech.status).toBe(200)
  expect((await speech.arrayBuffer()).byteLength).toBeGreaterThan(0)
  expect(await loggedRow(speech.headers.get('x-request-id')!)).toMatchObject({ status: 200, route: '/v1/audio/speech' })

  const csv = await fetch(`${gw.url}/v1/usage/csv?user_id=stream-latency`, { headers: gw.master })
  expect(csv.status).toBe(200)
  expect((await csv.text()).split('\r\n').length).toBeGreaterThan(2)
  await gw.settled()
  const rows = (await gw.admin('GET', '/v1/audit?route=/v1/usage/csv')).body.data as any[]
  expect(rows.map((r) => [r.request_id, r.status])).toEqual([[csv.headers.get('x-request-id'), 200]])
})
