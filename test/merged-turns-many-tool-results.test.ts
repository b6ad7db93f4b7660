/**
 * Chat → Anthropic and Responses → Anthropic merge consecutive user turns into one, with the tool results ahead of
 * the other blocks (Anthropic refuses text before a tool result). Placing each tool result by a search from the
 * turn's first block was quadratic: a user text then 60,000 tool messages (3.2 MB) held the gateway's thread ~4 s,
 * 150,000 ~23 s, every other tenant's request waiting; the same messages with the user text last took ~160 ms.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'
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
  const tools = Array.from({ length: N }, (_, i) => `{"role":"tool","tool_call_id":"c${i}","content":"r"}`).join(',')
  const body = `{"model":"ant:m","max_tokens":5,"messages":[{"role":"user","content":"go"},${tools}]}`
  const { worst, answer } = await measured('/v1/chat/completions', body)
  expect(answer.status).toBeLessThan(500)
  expect(worst).toBeLessThan(1500)
}, 600_000)

test('Responses → Anthropic: a user text then 60,000 function_call_output items does not hold the gateway (< 1.5 s)', async () => {
  const items = Array.from({ length: N }, (_, i) => `{"type":"function_call_output","call_id":"c${i}","output":"r"}`).join(',')
  const body = `{"model":"ant:m","max_output_tokens":5,"input":[{"role":"user","content":"go"},${items}]}`
  const { worst, answer } = await measured('/v1/responses', body)
  expect(answer.status).toBeLessThan(500)
  expect(worst).toBeLessThan(1500)
}, 600_000)
