/**
 * The free calls cost nothing, so their slots are shared out: clients never take the few kept for alert webhooks,
 * webhooks take only those (a receiver that never answers holds its slots for the delivery timeout), and one key
 * has at most `FREE_CALLS_PER_KEY` in flight. Before, one key's open count_tokens (or stored responses
 * it did not read) could take every slot: every other user's free calls got 503, and alert webhooks were not
 * delivered for as long as they stayed open.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { GatewayError } from '../src/http/errors'
import { FREE_CALLS_PER_KEY, FreeCallSlots } from '../src/providers/free-call-slots'
import { FREE_CALLS } from '../src/providers/upstream-slots'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const refusal = (take: () => unknown) => {
  try {
    take()
    return null
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error
    return { status: error.status, code: error.code, retryAfter: error.headers?.['retry-after'] }
  }
}

test('clients take all but the slots kept for webhooks, one key at most its own share', () => {
  let busy = 0
  const slots = new FreeCallSlots(FREE_CALLS, () => busy++)
  expect({ forClients: slots.forClients, perKey: slots.perKey }).toEqual({ forClients: FREE_CALLS - 4, perKey: FREE_CALLS_PER_KEY })

  const backs = Array.from({ length: FREE_CALLS_PER_KEY }, () => slots.takeFor('a'))
  expect(refusal(() => slots.takeFor('a'))).toEqual({ status: 429, code: 'rate_limit_exceeded', retryAfter: '1' })
  for (let i = FREE_CALLS_PER_KEY; i < slots.forClients; i++) slots.takeFor(`k${i % 3}`)
  expect(refusal(() => slots.takeFor('b'))).toEqual({ status: 503, code: 'upstream_busy', retryAfter: '1' })
  expect(busy).toBe(1)

  // Clients have taken their whole share: webhooks still have theirs, and no more.
  const webhooks = Array.from({ length: 4 }, () => slots.tryTakeForWebhook())
  expect({ taken: webhooks.every(Boolean), more: slots.tryTakeForWebhook(), inFlight: slots.inFlight }).toEqual({ taken: true, more: null, inFlight: FREE_CALLS })

  // A slot given back (twice: once counts) is the key's again.
  backs[0]!()
  backs[0]!()
  expect(slots.inFlight).toBe(FREE_CALLS - 1)
  expect(refusal(() => slots.takeFor('a'))).toBeNull()
  expect(refusal(() => slots.takeFor('a'))).toEqual({ status: 503, code: 'upstream_busy', retryAfter: '1' })
})

test('webhooks take only the slots kept for them, never the clients\' share; small limits keep a share for each', () => {
  const slots = new FreeCallSlots(FREE_CALLS)
  const webhooks = Array.from({ length: FREE_CALLS }, () => slots.tryTakeForWebhook())
  expect({ forWebhooks: slots.forWebhooks, taken: webhooks.filter(Boolean).length, inFlight: slots.inFlight }).toEqual({ forWebhooks: 4, taken: 4, inFlight: 4 })
  for (let i = 0; i < slots.forClients; i++) slots.takeFor(`k${i % 4}`)
  expect(refusal(() => slots.takeFor('c'))?.status).toBe(503)
  // One given back (twice: once counts) is the webhooks' again.
  webhooks[0]!()
  webhooks[0]!()
  expect(slots.tryTakeForWebhook()).not.toBeNull()

  const shares = (limit: number) => {
    const s = new FreeCallSlots(limit)
    return [s.forClients, s.perKey, s.forWebhooks]
  }
  // Under 4 none can be kept: webhooks take one, shared with clients, or no alert would go.
  expect({ 8: shares(8), 2: shares(2), 1: shares(1), 0: shares(0) }).toEqual({ 8: [6, 6, 2], 2: [2, 2, 1], 1: [1, 1, 1], 0: [0, 0, 0] })
  // None at all (a Bun cap of 1): every client's free call is refused as busy, and no webhook is sent.
  expect(refusal(() => new FreeCallSlots(0).takeFor('a'))?.status).toBe(503)
  expect(new FreeCallSlots(0).tryTakeForWebhook()).toBeNull()
})

let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } },
  })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

test("one key's open count_tokens past its share get 429; another key's are still served", async () => {
  const never = new Promise<Response>(() => {})
  upstream.answer(() => never)
  const greedy = (await gw.userWithKey({ id: 'greedy', max_budget: 10 })).secret
  const other = (await gw.userWithKey({ id: 'other', max_budget: 10 })).secret
  const countTokens = (key: string, signal?: AbortSignal) =>
    fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      signal,
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] }),
    })
  const open = new AbortController()
  try {
    for (let i = 0; i < FREE_CALLS_PER_KEY; i++) void countTokens(greedy, open.signal).catch(() => {})
    for (let i = 0; i < 100 && upstream.calls.length < FREE_CALLS_PER_KEY; i++) await Bun.sleep(20)
    expect(upstream.calls.length).toBe(FREE_CALLS_PER_KEY)

    // Refused at once (an admitted call would wait on the provider, which never answers).
    const past = await countTokens(greedy, AbortSignal.any([open.signal, AbortSignal.timeout(1_000)])).catch(() => 'admitted: no answer')
    expect(typeof past === 'string' ? past : { status: past.status, retryAfter: past.headers.get('retry-after'), type: ((await past.json()) as any).error.type }).toEqual({
      status: 429,
      retryAfter: '1',
      type: 'rate_limit_error',
    })
    expect(upstream.calls.length).toBe(FREE_CALLS_PER_KEY)

    upstream.answer(() => jsonResponse({ input_tokens: 3 }))
    const served = await countTokens(other)
    expect({ status: served.status, body: await served.json() }).toEqual({ status: 200, body: { input_tokens: 3 } })
  } finally {
    open.abort()
  }
})
