/**
 * Chat → Anthropic and Responses → Anthropic merge consecutive user turns into one, with the tool results ahead of
 * the other blocks (Anthropic refuses text before a tool result). Placing each tool result by a search from the
 * turn's first block was quadratic: a user text then 60,000 tool messages (3.2 MB) held the gateway's thread ~4 s,
 * 150,000 ~23 s, every other tenant's request waiting; the same messages with the user text last took ~160 ms.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 *
 * A body of 60,000 tool messages (180,000 object members) is now refused 400 `invalid_json` before it is parsed
 * (src/http/json-body.ts, MAX_JSON_MEMBERS = 100,000): through the gateway it never reached the merge, and "not a
 * 500, /health under 1.5 s" held whatever the merge cost. The merge of 60,000 is timed by itself, against the same
 * messages with the user text last; through the gateway, 33,000 (99,000 members) must be served, in either order,
 * without holding /health much longer after a user text than before it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(() =>
    jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } }),
  )
  gw = await spawnGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'ant:m': { input_per_million: 0.001, output_per_million: 0.001 } }, log_level: 'warn' },
  })
  ;({ secret } = await gw.userWithKey({ id: 'merge-quadratic', max_budget: 1000 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const N = 60_000
/** Tool results of three object members each: under the 100,000 members a body may hold, so the gateway parses it. */
const N_ACCEPTED = 33_000

/** The request thread's time to translate `body` for Anthropic, in ms (the better of two tries). */
function translationMs(path: string, body: string): number {
  const parsed = JSON.parse(body)
  let best = Infinity
  for (let i = 0; i < 2; i++) {
    const started = performance.now()
    if (path === '/v1/chat/completions') chatRequestToMessages(structuredClone(parsed), { defaultMaxOutputTokens: 4096 })
    else responsesRequestToMessages(structuredClone(parsed), { defaultMaxOutputTokens: 4096 })
    best = Math.min(best, performance.now() - started)
  }
  return best
}

/** The merge of `n` tool results after a user text costs about what the same with the user text last costs. */
function expectMergedLinearly(path: string, body: (n: number, userFirst: boolean) => string) {
  const userFirst = translationMs(path, body(N, true))
  const userLast = translationMs(path, body(N, false))
  console.log(`${path}: translating ${N} tool results took ${userFirst.toFixed(0)} ms after a user text, ${userLast.toFixed(0)} ms before it`)
  expect(userFirst).toBeLessThan(Math.max(1000, 3 * userLast))
}

const chatBody = (n: number, userFirst = true) => {
  const tools = Array.from({ length: n }, (_, i) => `{"role":"tool","tool_call_id":"c${i}","content":"r"}`).join(',')
  const user = '{"role":"user","content":"go"}'
  return `{"model":"ant:m","max_tokens":5,"messages":[${userFirst ? `${user},${tools}` : `${tools},${user}`}]}`
}

const responsesBody = (n: number, userFirst = true) => {
  const items = Array.from({ length: n }, (_, i) => `{"type":"function_call_output","call_id":"c${i}","output":"r"}`).join(',')
  const user = '{"role":"user","content":"go"}'
  return `{"model":"ant:m","max_output_tokens":5,"input":[${userFirst ? `${user},${items}` : `${items},${user}`}]}`
}

async function measured(path: string, body: string) {
  const sent = fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  )
  const t = performance.now()
  const worst = await worstHealthDuring(gw.url, sent)
  const answer = await sent
  console.log(`${path}: ${(body.length / 1e6).toFixed(1)} MB, status ${answer.status}, took ${(performance.now() - t).toFixed(0)} ms, worst /health ${worst.toFixed(0)} ms`)
  return { worst, answer, kb: body.length / 1024 }
}

test('chat → Anthropic: a user text then 60,000 tool messages does not hold the gateway (< 1.5 s)', async () => {
  expectMergedLinearly('/v1/chat/completions', chatBody)
  const control = await measured('/v1/chat/completions', chatBody(N_ACCEPTED, false))
  const { worst, answer } = await measured('/v1/chat/completions', chatBody(N_ACCEPTED))
  expect([control.answer.status, answer.status]).toEqual([200, 200])
  expect(worst).toBeLessThan(Math.max(1500, 3 * control.worst))
}, 600_000)

test('Responses → Anthropic: a user text then 60,000 function_call_output items does not hold the gateway (< 1.5 s)', async () => {
  expectMergedLinearly('/v1/responses', responsesBody)
  const control = await measured('/v1/responses', responsesBody(N_ACCEPTED, false))
  const { worst, answer } = await measured('/v1/responses', responsesBody(N_ACCEPTED))
  expect([control.answer.status, answer.status]).toEqual([200, 200])
  expect(worst).toBeLessThan(Math.max(1500, 3 * control.worst))
}, 600_000)
