/**
 * README (configuration, `TOLLGATE_REDIS_FAILURE`): with Redis unreachable and the failure mode `closed`, the gateway
 * answers 503 `rate_limiter_unavailable` on every request a shared rate limit counts, the billed and free inference
 * calls included. /docs names, for each of those routes, the 503 codes a client must handle, as it does every refusal
 * code a route answers (test/docs-billed-route-refusal-codes.test.ts); this one was in no operation, so a client
 * generated from /docs/json had no case for the one 503 a `closed` deployment answers on every call while Redis is
 * down. Each refusal is produced here for real, then looked up in the operation.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startRedis, type TestRedis } from '../support/redis-server'

let redis: TestRedis
let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { redis_url: redis.url, redis_failure: 'closed', pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mockant:claude-mock': { input_per_million: 1, output_per_million: 2 } } },
  })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
  await redis?.stop()
})

/** Whether an operation documents a status with a code, as /docs does: in the status's description, or the operation's. */
const documents = (op: any, status: string, code: string) =>
  String(op?.responses?.[status]?.description ?? '').includes(code) ||
  (String(op?.description ?? '').includes(status) && String(op?.description ?? '').includes(code))

test('the 503 rate_limiter_unavailable that every call answers while Redis is down (closed) is documented for those routes', async () => {
  const { secret } = await gw.userWithKey({ id: 'docs-redis-closed', max_budget: 10 }, { rpm_limit: 6000 })
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const json = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }
  const anthropic = { ...json, 'anthropic-version': '2023-06-01' }
  const calls: Array<[string, Record<string, string>, unknown]> = [
    ['/v1/chat/completions', json, { model: 'mock:gpt-mock', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/embeddings', json, { model: 'mock:gpt-mock', input: 'hi' }],
    ['/v1/responses', json, { model: 'mock:gpt-mock', max_output_tokens: 8, input: 'hi' }],
    ['/v1/messages', anthropic, { model: 'mockant:claude-mock', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/messages/count_tokens', anthropic, { model: 'mockant:claude-mock', messages: [{ role: 'user', content: 'hi' }] }],
  ]
  // Redis up (the link's first probe done): each call is served.
  for (let i = 0; i < 200 && ((await (await fetch(`${gw.url}/health`)).json()) as any).redis !== 'up'; i++) await Bun.sleep(25)
  for (const [path, headers, body] of calls) {
    const res = await fetch(gw.url + path, { method: 'POST', headers, body: JSON.stringify(body) })
    expect({ path, status: res.status }).toEqual({ path, status: 200 })
  }

  await redis.stop()
  const undocumented: string[] = []
  try {
    for (const [path, headers, body] of calls) {
      const res = await fetch(gw.url + path, { method: 'POST', headers, body: JSON.stringify(body) })
      const answer = (await res.json()) as any
      // What the gateway really answers (the precondition): 503 rate_limiter_unavailable, in the route's wire format.
      const code = answer?.error?.code ?? (String(answer?.error?.message ?? '').includes('rate limiter') ? 'rate_limiter_unavailable' : answer?.error?.type)
      expect({ path, status: res.status, code }).toEqual({ path, status: 503, code: 'rate_limiter_unavailable' })
      if (!documents(doc.paths[path]?.post, '503', 'rate_limiter_unavailable')) undocumented.push(`POST ${path}: 503 rate_limiter_unavailable`)
    }
  } finally {
    await redis.start()
  }
  expect(undocumented).toEqual([])
})
