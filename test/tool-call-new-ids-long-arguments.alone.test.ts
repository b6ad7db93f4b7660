/**
 * Which call a chat stream's tool-call delta belongs to is decided by `ToolCallKeys`. A delta with an id not seen
 * before, naming a function, at an index whose call already has an id and a name, opens another call only when that
 * call's argument text is a whole JSON value. Parsing the whole text to ask was quadratic: one call with a 1 MB
 * argument still open, then 1,500 small deltas each under a new id (Poolside changes ids within a call), parsed 1 MB
 * 1,500 times and stalled the gateway 6-9 s. Both translators that use it stalled: chat → Messages and chat → Responses.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await spawnGateway({
    config: {
      providers: { ...scriptedProviders(upstream), viachat: { ...scriptedProviders(upstream).plain, responses: 'chat' as const } },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'viachat:m': { input_per_million: 1, output_per_million: 2 } },
      log_level: 'warn',
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'new-ids-reparse', max_budget: 10 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
const toolDelta = (call: Record<string, unknown>) => chunk({ tool_calls: [call] })

const DELTAS = 1_500
const script = () =>
  sseResponse([
    // One call whose argument text is long and still open (valid JSON so far: a parse reads all of it before failing).
    toolDelta({ index: 0, id: 'call_a', type: 'function', function: { name: 'write', arguments: '{"x":[' + '1,'.repeat(500_000) } }),
    // Deltas each under a new id, naming the function (Poolside-style id changes): each makes ToolCallKeys parse it all.
    ...Array.from({ length: DELTAS }, (_, i) => toolDelta({ index: 0, id: `call_${i}`, type: 'function', function: { name: 'write', arguments: '1,' } })),
    toolDelta({ index: 0, function: { arguments: '1]}' } }),
    chunk({}, 'tool_calls'),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 100, total_tokens: 110 } }),
    openAIEvent('[DONE]'),
  ])

async function measured(path: string, headers: Record<string, string>, body: unknown, last: string) {
  const sent = fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  )
  const t = performance.now()
  const worst = await worstHealthDuring(gw.url, sent)
  const answer = await sent
  console.log(`${path}: status ${answer.status}, took ${(performance.now() - t).toFixed(0)} ms, worst /health ${worst.toFixed(0)} ms`)
  expect(answer.status).toBe(200)
  expect(answer.text.includes(last)).toBe(true)
  expect(worst).toBeLessThan(500)
}

test('chat → Messages: a tool call continued under 1,500 new ids does not stall the gateway (/health < 500 ms meanwhile)', async () => {
  upstream.answer(script)
  await measured(
    '/v1/messages',
    { 'x-api-key': secret, 'anthropic-version': '2023-06-01' },
    { model: 'plain:m', max_tokens: 50_000, stream: true, messages: [{ role: 'user', content: 'go' }], tools: [{ name: 'write', input_schema: { type: 'object' } }] },
    'message_stop',
  )
}, 300_000)

test('chat → Responses: a tool call continued under 1,500 new ids does not stall the gateway (/health < 500 ms meanwhile)', async () => {
  upstream.answer(script)
  await measured(
    '/v1/responses',
    { authorization: `Bearer ${secret}` },
    { model: 'viachat:m', stream: true, input: 'go', tools: [{ type: 'function', name: 'write', parameters: { type: 'object' } }] },
    'response.completed',
  )
}, 300_000)
