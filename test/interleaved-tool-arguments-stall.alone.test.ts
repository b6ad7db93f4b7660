/**
 * The stream translators look at a tool call's growing argument text after each delta. Asking of the WHOLE text
 * each time is quadratic in its length, and a provider's stream can hold tens of thousands of deltas that arrive in
 * one read, while every other tenant waits:
 * - Messages client, OpenAI-compatible model (ChunksToMessageEvents): while a second tool call waits for the open
 *   one's block to close (a server that interleaves parallel calls), every delta asked whether the open call's text
 *   was a whole object, parsing all of it each time it ended in `}`: 40,000 deltas of `,{}` (a 120 KB argument,
 *   a 4 MB stream of ordinary chunks) held the gateway 7.7-8.6 s.
 * - Responses client, OpenAI-compatible model (ResponseEventWriter): while a call's text did not open an object
 *   (held until the call ends), every delta tested the whole text with a regex, flattening it each time.
 * What the text is so far is known after each delta: only what arrives after needs looking at.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHoldDuring } from './support/request-thread-hold'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await spawnGateway({
    config: {
      // `viachat` answers /v1/responses through its chat completions, translated.
      providers: { ...scriptedProviders(upstream), viachat: { ...scriptedProviders(upstream).plain, responses: 'chat' as const } },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'viachat:m': { input_per_million: 1, output_per_million: 2 } },
      log_level: 'warn',
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'interleaved', max_budget: 10 }))
})

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
const toolDelta = (call: Record<string, unknown>) => chunk({ tool_calls: [call] })
const ending = (outputTokens: number) => [
  chunk({}, 'tool_calls'),
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: outputTokens, total_tokens: outputTokens + 10 } }),
  openAIEvent('[DONE]'),
]

/** `heldMs`: the most the gateway's request thread may run while one /health waits (see support/request-thread-hold). */
async function streamedWithoutStall(path: string, headers: Record<string, string>, body: unknown, last: string, heldMs: number) {
  const sent = fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  )
  const worst = await worstHoldDuring(gw.url, sent, gw.proc.pid)
  const answer = await sent
  expect(answer.status).toBe(200)
  expect(answer.text.includes(last)).toBe(true)
  console.log(`meanwhile: ${worst}`)
  expect(worst.held).toBeLessThan(heldMs)
  return answer.text
}

test('Messages: an interleaved tool call with a long argument stream does not stall the gateway', async () => {
  const DELTAS = 40_000
  upstream.answer(() =>
    sseResponse([
      toolDelta({ index: 0, id: 'call_a', type: 'function', function: { name: 'write', arguments: '{"x":[{}' } }),
      // A second call announced while the first is still open: it waits for the first's block to close.
      toolDelta({ index: 1, id: 'call_b', type: 'function', function: { name: 'read', arguments: '' } }),
      ...Array.from({ length: DELTAS }, () => toolDelta({ index: 0, function: { arguments: ',{}' } })),
      toolDelta({ index: 0, function: { arguments: ']}' } }),
      toolDelta({ index: 1, function: { arguments: '{}' } }),
      ...ending(DELTAS),
    ]),
  )
  const text = await streamedWithoutStall(
    '/v1/messages',
    { 'x-api-key': secret, 'anthropic-version': '2023-06-01' },
    { model: 'plain:m', max_tokens: 50_000, stream: true, messages: [{ role: 'user', content: 'go' }], tools: [{ name: 'write', input_schema: { type: 'object' } }, { name: 'read', input_schema: { type: 'object' } }] },
    'message_stop',
    // 130 ms on a busy 2-core machine; 12 s before.
    1_000,
  )
  // The first call's block closed when its object did, and only then did the second's open.
  const blocks = [...text.matchAll(/"type":"content_block_(start|stop)","index":(\d)/g)].map((m) => `${m[1]}${m[2]}`)
  expect(blocks).toEqual(['start0', 'stop0', 'start1', 'stop1'])
}, 120_000)

test('Responses: a tool call whose long argument stream opens no object does not stall the gateway', async () => {
  const DELTAS = 200_000
  upstream.answer(() =>
    sseResponse([
      toolDelta({ index: 0, id: 'call_a', type: 'function', function: { name: 'write', arguments: '[0' } }),
      ...Array.from({ length: DELTAS }, () => toolDelta({ index: 0, function: { arguments: ',1' } })),
      toolDelta({ index: 0, function: { arguments: ']' } }),
      ...ending(DELTAS),
    ]),
  )
  const text = await streamedWithoutStall(
    '/v1/responses',
    { authorization: `Bearer ${secret}` },
    { model: 'viachat:m', stream: true, input: 'go', tools: [{ type: 'function', name: 'write', parameters: { type: 'object' } }] },
    'response.completed',
    // 60 ms on a busy 2-core machine; 1.6 s before.
    300,
  )
  // Held until the call ended, then given whole.
  expect(text.match(/^event: response\.function_call_arguments\.delta$/gm)).toHaveLength(1)
}, 120_000)
