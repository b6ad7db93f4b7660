import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import {
  anthropicEvent,
  jsonResponse,
  openAIEvent,
  scriptedProviders,
  sseResponse,
  startScriptedUpstream,
  type ScriptedCall,
  type ScriptedUpstream,
} from './support/scripted-upstream'

/**
 * The output clamp (SPEC §6, last bullet) on `/v1/responses`, the only route Codex CLI speaks: with the clamp
 * on, a request asking `max_output_tokens` 5,000 from a user whose $0.10 covers ~1,000 output tokens is served
 * with the max sent upstream lowered to what the budget covers, in the field the provider reads
 * (`max_output_tokens` native, `max_tokens` translated to Anthropic or to an OpenAI-compatible chat), and
 * `X-Output-Clamped` says so, streams included; spend stays within the budget. Before, the route never asked
 * for the clamp and answered 402, where chat and Messages with the same budget were served.
 */

let upstream: ScriptedUpstream
let gw: TestGateway
// 100 micro-USD an output token: $0.10 covers ~1,000 output tokens.
const PRICE = { input_per_million: 1, output_per_million: 100 }

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({
    config: {
      providers: { ...providers, viachat: { ...providers.plain, responses: 'chat' as const } },
      pricing: { 'plain:m': PRICE, 'ant:m': PRICE, 'viachat:m': PRICE },
      clamp_output: true,
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
})

const BUDGET = 0.1
let n = 0

/** The max a call was sent, in the field its provider reads: writing as much as that allows. */
const maxSent = ({ path, body }: ScriptedCall): number =>
  path.endsWith('/v1/messages') ? body.max_tokens : path.endsWith('/chat/completions') ? body.max_tokens : body.max_output_tokens

const ev = (d: any) => `event: ${d.type}\ndata: ${JSON.stringify(d)}\n\n`

/** Providers that write as much as the max they are sent allows, as JSON or as a stream. */
function answerAtMax(call: ScriptedCall): Response {
  const { path, body } = call
  const out = maxSent(call)
  if (path.endsWith('/v1/messages')) {
    const usage = { input_tokens: 5, output_tokens: out }
    if (!body.stream)
      return jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'x' }],
        stop_reason: 'max_tokens', stop_sequence: null, usage,
      })
    return sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage }),
      anthropicEvent({ type: 'message_stop' }),
    ])
  }
  if (path.endsWith('/chat/completions')) {
    const usage = { prompt_tokens: 5, completion_tokens: out, total_tokens: 5 + out }
    if (!body.stream)
      return jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }], usage,
      })
    return sseResponse([
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { role: 'assistant', content: 'x' }, finish_reason: null }] }),
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'length' }] }),
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage }),
      openAIEvent('[DONE]'),
    ])
  }
  const response = {
    id: 'resp_1', object: 'response', created_at: 1, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, model: body.model,
    output: [{ type: 'message', id: 'msg_1', status: 'incomplete', role: 'assistant', content: [{ type: 'output_text', text: 'x', annotations: [] }] }],
    usage: { input_tokens: 5, output_tokens: out, total_tokens: 5 + out },
  }
  if (!body.stream) return jsonResponse(response)
  return sseResponse([
    ev({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [], usage: null } }),
    ev({ type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'x' }),
    ev({ type: 'response.incomplete', sequence_number: 2, response }),
  ])
}

async function ask(model: string, request: Record<string, unknown>) {
  upstream.answer(answerAtMax)
  const id = `responses-clamp-${++n}`
  const { secret } = await gw.userWithKey({ id, max_budget: BUDGET })
  const res = await fetch(gw.url + '/v1/responses', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input: 'write a lot', store: false, ...request }),
  })
  const text = await res.text()
  await gw.settled()
  const user = (await gw.admin('GET', `/v1/users/${id}`)).body
  return { res, text, user, sent: upstream.calls.at(-1)! }
}

const ROUTES = [
  ['native', 'plain:m', 'max_output_tokens'],
  ['translated to Anthropic', 'ant:m', 'max_tokens'],
  ['translated to chat', 'viachat:m', 'max_tokens'],
] as const

describe('/v1/responses honours the output clamp', () => {
  for (const [route, model, field] of ROUTES)
    for (const stream of [false, true])
      test(`${route}${stream ? ', streamed' : ''}: served with ${field} lowered to what $0.10 covers, X-Output-Clamped set, spend <= max_budget`, async () => {
        const { res, text, user, sent } = await ask(model, { max_output_tokens: 5000, stream })
        expect(res.status, text).toBe(200)
        const clampedTo = Number(res.headers.get('x-output-clamped'))
        expect(clampedTo).toBeGreaterThanOrEqual(256)
        expect(clampedTo).toBeLessThan(1000)
        expect(sent.body[field]).toBe(clampedTo)
        expect(user.spend).toBeGreaterThan(0)
        expect(user.spend).toBeLessThanOrEqual(BUDGET)
        expect(user.reserved).toBe(0)
      })

  test('native without max_output_tokens: the hold covered the default max, so the clamp is sent as the max', async () => {
    const { res, text, user, sent } = await ask('plain:m', {})
    expect(res.status, text).toBe(200)
    const clampedTo = Number(res.headers.get('x-output-clamped'))
    expect(clampedTo).toBeGreaterThanOrEqual(256)
    expect(sent.body.max_output_tokens).toBe(clampedTo)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })

  test('translated to Anthropic with reasoning: a thinking budget the clamped max cannot hold is dropped, not refused', async () => {
    // `low` is a 2,048-token thinking budget, which fits 5,000 but not the ~1,000 the budget covers.
    const { res, text, sent } = await ask('ant:m', { max_output_tokens: 5000, reasoning: { effort: 'low' } })
    expect(res.status, text).toBe(200)
    const clampedTo = Number(res.headers.get('x-output-clamped'))
    expect(clampedTo).toBeLessThan(1000)
    expect(sent.body.max_tokens).toBe(clampedTo)
    expect(sent.body.thinking).toBeUndefined()
  })

  test('a request the budget covers goes as it came, without the header', async () => {
    const { res, text, sent } = await ask('plain:m', { max_output_tokens: 300 })
    expect(res.status, text).toBe(200)
    expect(res.headers.get('x-output-clamped')).toBeNull()
    expect(sent.body.max_output_tokens).toBe(300)
  })
})
