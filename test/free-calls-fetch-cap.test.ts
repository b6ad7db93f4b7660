/**
 * Bun's fetch runs at most BUN_CONFIG_MAX_HTTP_REQUESTS requests at once and queues the rest unseen. Paid calls
 * are limited to that cap minus the room kept for the calls that hold nothing (count_tokens, stored responses,
 * alert webhooks: `FREE_CALLS`); those have a limit of their own, so a key holder cannot fill the cap with them.
 * Before, nothing bounded them: a paid call admitted after them (its slot and hold taken) waited in Bun's queue,
 * the provider never received it, and it was charged all the same (here a stream whose client gives up waiting:
 * its input estimate, as a stream cut before its first byte). Past the clients' share of their limit (the rest is
 * kept for alert webhooks), free calls get 503 `upstream_busy` with Retry-After, as paid calls past theirs do; a
 * free call whose client goes away gives its slot back. The calls come from several keys, each within its own share.
 */
import { afterAll, expect, test } from 'bun:test'
import { FreeCallSlots } from '../src/providers/free-call-slots'
import { FREE_CALLS } from '../src/providers/upstream-slots'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/** Bun's fetch cap for the gateway process: its paid-call limit is this minus the free calls' room (40). */
const FETCH_CAP = 2 * FREE_CALLS + 8
/** What clients may take of the free calls' slots, and one key of them. */
const { forClients: FOR_CLIENTS, perKey: PER_KEY } = new FreeCallSlots(FREE_CALLS)
/** Keys enough that the free calls sent are bound by the free-call limit, not each key's own. */
const KEYS = Math.ceil(FETCH_CAP / PER_KEY)
let up: ScriptedUpstream | undefined
let gw: SpawnedGateway | undefined
afterAll(async () => {
  // Should a free call still hang at the provider, a graceful stop would wait its whole grace for it.
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

const countCalls = () => up!.calls.filter((c) => c.path.endsWith('/count_tokens')).length

test('free calls past their own limit get 503 upstream_busy; a paid call then still reaches the provider; aborted free calls give their slots back', async () => {
  up = startScriptedUpstream()
  const never = new Promise<Response>(() => {})
  let countAnswer: () => Promise<Response> | Response = () => never
  // count_tokens at a slow provider: each free call stays in flight.
  up.answer((call) => (call.path.endsWith('/count_tokens') ? countAnswer() : chatStream()))
  gw = await spawnGateway({
    env: { BUN_CONFIG_MAX_HTTP_REQUESTS: String(FETCH_CAP) },
    config: { providers: scriptedProviders(up), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, metrics_enabled: true },
  })
  const secrets = [(await gw.userWithKey({ id: 'team', max_budget: 10 })).secret]
  while (secrets.length < KEYS) secrets.push((await gw.admin('POST', '/v1/keys', { user_id: 'team' })).body.key)
  const headers = (i = 0) => ({ authorization: `Bearer ${secrets[i % KEYS]}`, 'content-type': 'application/json' })
  const countTokens = (i: number, signal?: AbortSignal) =>
    fetch(`${gw!.url}/v1/messages/count_tokens`, {
      method: 'POST', headers: headers(i), signal,
      body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'count me' }] }),
    })
  const freeCallsInFlight = async () =>
    Number(/tollgate_free_calls_in_flight (\d+)/.exec(await (await fetch(`${gw!.url}/metrics`, { headers: gw!.master })).text())![1])

  // As many free calls as Bun's whole cap: the clients' share reaches the provider, the rest are refused at once.
  const free = new AbortController()
  const refused: Array<{ status: number; retryAfter: string | null }> = []
  for (let i = 0; i < FETCH_CAP; i++)
    void countTokens(i, free.signal).then((r) => refused.push({ status: r.status, retryAfter: r.headers.get('retry-after') }), () => {})
  for (let i = 0; i < 200 && (countCalls() < FOR_CLIENTS || refused.length < FETCH_CAP - FOR_CLIENTS); i++) await Bun.sleep(25)
  await Bun.sleep(100)
  expect({ reached: countCalls(), refused }).toEqual({ reached: FOR_CLIENTS, refused: Array(FETCH_CAP - FOR_CLIENTS).fill({ status: 503, retryAfter: '1' }) })
  expect(await freeCallsInFlight()).toBe(FOR_CLIENTS)

  // A paid stream, well under the paid-call limit (40): admitted, its hold taken. Its client waits 1.5 s for a first byte.
  const client = new AbortController()
  setTimeout(() => client.abort(), 1_500)
  const status = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: headers(), signal: client.signal,
    body: JSON.stringify({ model: 'plain:m', stream: true, max_tokens: 1000, messages: [{ role: 'user', content: 'hello' }] }),
  }).then(async (r) => (await r.text(), r.status), () => 'client gave up')
  await gw.settled()
  const received = up.calls.filter((c) => c.path.endsWith('/chat/completions')).length
  const rows = gw.query<{ status: string }>('SELECT status FROM usage').map((r) => r.status)
  // Refused up front (503 upstream_busy, nothing held), or sent and paid as answered; a call the provider never received is never paid.
  expect({ status, received, rows }).toEqual(received === 0 ? { status: 503, received: 0, rows: [] } : { status: 200, received: 1, rows: ['ok'] })

  // The free calls' clients go away: the calls are cut and their slots come back, so as many again are served.
  free.abort()
  for (let i = 0; i < 100 && (await freeCallsInFlight()) > 0; i++) await Bun.sleep(25)
  expect(await freeCallsInFlight()).toBe(0)
  countAnswer = () => jsonResponse({ input_tokens: 3 })
  const again = await Promise.all(Array.from({ length: FOR_CLIENTS }, (_, i) => countTokens(i).then((r) => r.status)))
  expect(again).toEqual(Array(FOR_CLIENTS).fill(200))
  expect(await freeCallsInFlight()).toBe(0)
}, 60_000)
