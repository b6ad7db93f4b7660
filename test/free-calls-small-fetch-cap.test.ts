/**
 * Under a Bun fetch cap below the free calls' room + 1 (BUN_CONFIG_MAX_HTTP_REQUESTS=16, a value Bun takes), the
 * gateway lowered its paid-call limit to max(1, 16 - 32) = 1 but still let 32 free calls run: together over the
 * cap. Sixteen open count_tokens (all within the free-call limit) filled Bun's whole cap; a paid stream was then
 * admitted (its slot and hold taken), waited unseen in Bun's queue, never reached the provider, and was charged
 * when its client gave up. The two limits now always sum to the cap or less: under a cap below 64 it is split in
 * half, the free calls taking the smaller half (`effectiveUpstreamLimit`).
 */
import { afterAll, expect, test } from 'bun:test'
import { effectiveUpstreamLimit, FREE_CALLS } from '../src/providers/upstream-slots'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

test('the paid and free limits never sum past the cap, and the free calls never get more than their room', () => {
  const over: object[] = []
  for (const configured of [1, 4, 8, 20, 224, 2048, 65535])
    for (let cap = 1; cap <= 300; cap++) {
      const { limit, freeCalls } = effectiveUpstreamLimit(configured, { BUN_CONFIG_MAX_HTTP_REQUESTS: String(cap) })
      const fits = limit >= 1 && limit <= configured && freeCalls >= 0 && freeCalls <= FREE_CALLS && limit + freeCalls <= cap
      if (!fits) over.push({ configured, cap, limit, freeCalls })
    }
  expect(over).toEqual([])
  expect(effectiveUpstreamLimit(2048, { BUN_CONFIG_MAX_HTTP_REQUESTS: '16' })).toMatchObject({ limit: 8, freeCalls: 8 })
  expect(effectiveUpstreamLimit(4, { BUN_CONFIG_MAX_HTTP_REQUESTS: '16' })).toMatchObject({ limit: 4, freeCalls: 12 })
  expect(effectiveUpstreamLimit(2048, { BUN_CONFIG_MAX_HTTP_REQUESTS: '64' })).toMatchObject({ limit: 32, freeCalls: 32 })
  // A cap of 1 leaves the free calls nothing: the warning says what that means.
  const one = effectiveUpstreamLimit(2048, { BUN_CONFIG_MAX_HTTP_REQUESTS: '1' })
  expect(one).toMatchObject({ limit: 1, freeCalls: 0 })
  expect(one.warning).toContain('they are all refused, and no alert is delivered')
})

const FETCH_CAP = 16
/** Keys enough that their free calls are bound by the free-call limit, not each key's own. */
const KEYS = 4
let up: ScriptedUpstream | undefined
let gw: SpawnedGateway | undefined
afterAll(async () => {
  gw?.proc.kill('SIGKILL')
  await gw?.proc.exited
  await gw?.stop()
  await up?.stop()
})

const chatStream = () =>
  sseResponse([
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] }),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }),
    openAIEvent('[DONE]'),
  ])

test('free calls cannot fill a small Bun fetch cap and leave a paid call charged for a request the provider never received', async () => {
  up = startScriptedUpstream()
  const never = new Promise<Response>(() => {})
  up.answer((call) => (call.path.endsWith('/count_tokens') ? never : chatStream()))
  gw = await spawnGateway({
    env: { BUN_CONFIG_MAX_HTTP_REQUESTS: String(FETCH_CAP) },
    config: { providers: scriptedProviders(up), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, metrics_enabled: true },
  })
  const secrets = [(await gw.userWithKey({ id: 'team', max_budget: 10 })).secret]
  while (secrets.length < KEYS) secrets.push((await gw.admin('POST', '/v1/keys', { user_id: 'team' })).body.key)
  const headers = (secret: string) => ({ authorization: `Bearer ${secret}`, 'content-type': 'application/json' })
  const counts = () => up!.calls.filter((c) => c.path.endsWith('/count_tokens')).length

  // As many open count_tokens as Bun's cap, from several keys: those admitted reach the provider, the rest are refused.
  const free = new AbortController()
  const refused: number[] = []
  for (let i = 0; i < FETCH_CAP; i++)
    void fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST', headers: headers(secrets[i % KEYS]!), signal: free.signal,
      body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'count me' }] }),
    }).then((r) => refused.push(r.status), () => {})
  for (let i = 0; i < 200 && counts() + refused.length < FETCH_CAP; i++) await Bun.sleep(25)
  await Bun.sleep(100)
  expect(counts() + refused.length).toBe(FETCH_CAP)
  expect(refused.every((status) => status === 503)).toBe(true)

  // A paid stream, under the paid-call limit: its client waits 1.5 s for a first byte.
  const client = new AbortController()
  setTimeout(() => client.abort(), 1_500)
  const status = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: headers(secrets[0]!), signal: client.signal,
    body: JSON.stringify({ model: 'plain:m', stream: true, max_tokens: 1000, messages: [{ role: 'user', content: 'hello' }] }),
  }).then(async (r) => (await r.text(), r.status), () => 'client gave up')
  await Bun.sleep(200)
  await gw.settled()
  const received = up.calls.filter((c) => c.path.endsWith('/chat/completions')).length
  const rows = gw.query<{ status: string; cost: number }>('SELECT status, cost FROM usage')
  free.abort()
  // Sent and paid as answered: never charged for a call the provider never got.
  expect({ status, received, rows: rows.map((r) => r.status) }).toEqual({ status: 200, received: 1, rows: ['ok'] })

  // The startup warning and the gauges tell both limits, which fit the cap together.
  expect(gw.output()).toContain('provider calls are limited to 8 at once, not 2048; the calls that hold nothing')
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
  expect([/tollgate_upstream_limit (\d+)/.exec(metrics)?.[1], /tollgate_free_calls_limit (\d+)/.exec(metrics)?.[1]]).toEqual(['8', '8'])
}, 60_000)
