import { expect, test } from 'bun:test'
import { responsesMediaParts } from '../src/budget/estimate'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A stored Responses context is sized in the tokens of the model that made it, and may be continued on another
 * model of the same provider (`previous_response_id`, a conversation or an item by reference with a different
 * `model`, which OpenAI allows). An image in it costs what the *new* model bills for it: gpt-4o bills a 768×2048
 * high-detail image 85 + 8 × 170 = 1,445 tokens, gpt-4o-mini 2,833 + 8 × 5,667 = 48,169 (its price row says so:
 * media_part_tokens). With cap-output on (SPEC §6: `spend <= max_budget` is an invariant) each media part of a
 * context another model sized is held again at the target's media bound; on its own model the recorded size is
 * held, as it was.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const GPT_4O_IMAGE = 85 + 8 * 170 // 1,445
const GPT_4O_MINI_IMAGE = 2833 + 8 * 5667 // 48,169
const MINI = { input_per_million: 0.15, output_per_million: 0.6 }

withScriptedGateway(
  {
    cap_output_tokens: true,
    // gpt-4o and gpt-4o-mini are served by OpenAI's API, which writes no chat template of its own: no template allowance.
    template_overhead_tokens: 0,
    media_part_tokens: 4096,
    pricing: {
      'plain:gpt-4o-mini': { ...MINI, media_part_tokens: GPT_4O_MINI_IMAGE },
      'plain:gpt-4o': MINI,
    },
  },
  (started) => ({ upstream, gw } = started),
)

const URL = 'https://example.com/chart-768x2048.png'
const IMAGE_INPUT = [{ role: 'user', content: [{ type: 'input_text', text: 'Read the chart.' }, { type: 'input_image', image_url: URL, detail: 'high' }] }]

/**
 * The provider: stores the response as `id`, billing the chart (when the request or its stored context has it)
 * at its model's rate; `output` adds items to its answer, `conversation` names the conversation it went to.
 */
const provider = (id: string, { chart = true, output = [] as unknown[], conversation = undefined as string | undefined } = {}) =>
  ({ body }: ScriptedCall) => {
    const image = !chart ? 0 : body.model === 'gpt-4o-mini' ? GPT_4O_MINI_IMAGE : GPT_4O_IMAGE
    const input = image + 40
    return jsonResponse({
      id, object: 'response', status: 'completed', model: body.model,
      ...(conversation ? { conversation: { id: conversation } } : {}),
      usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + 16 },
      output: [...output, { type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    })
  }

const poster = (secret: string) => async (body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.text()
  await gw.settled()
  return { status: res.status, code: res.ok ? undefined : (JSON.parse(text) as { error: { code: string } }).error.code }
}

/** Sets the user's max_budget to what it has spent plus `micros`; returns the micro-USD spent. */
async function leave(userId: string, micros: number): Promise<number> {
  const spent = Math.round((await gw.admin('GET', `/v1/users/${userId}`)).body.spend * 1e6)
  await gw.admin('PATCH', `/v1/users/${userId}`, { max_budget: (spent + micros) / 1e6 })
  return spent
}

const row = (id: string) => gw.query<{ model: string; media_parts: number | null }>('SELECT model, media_parts FROM stored_responses WHERE id = ?', id)[0]

test('a stored context with an image, continued on a model that bills images dearer, never takes spend past max_budget', async () => {
  upstream.answer(provider('resp_chart_1'))
  const { secret } = await gw.userWithKey({ id: 'ctx-model-chart', max_budget: 1 })
  const post = poster(secret)
  expect((await post({ model: 'plain:gpt-4o', max_output_tokens: 16, input: IMAGE_INPUT })).status).toBe(200)
  expect(row('resp_chart_1')).toEqual({ model: 'plain:gpt-4o', media_parts: 1 })

  // 1,000 µ$ left: what was held for the continuation before (~1,500 tokens) fits; the 48,209 the provider bills (7,232 µ$) does not.
  await leave('ctx-model-chart', 1000)
  upstream.answer(provider('resp_chart_2'))
  await post({ model: 'plain:gpt-4o-mini', previous_response_id: 'resp_chart_1', input: 'And the legend?', max_output_tokens: 16 })
  const user = (await gw.admin('GET', '/v1/users/ctx-model-chart')).body
  const spend = Math.round(user.spend * 1e6)
  const budget = Math.round(user.max_budget * 1e6)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('on the model that sized it, the stored context is held at its recorded size, with nothing on top', async () => {
  upstream.answer(provider('resp_same_1'))
  const { secret } = await gw.userWithKey({ id: 'ctx-model-same', max_budget: 1 })
  const post = poster(secret)
  expect((await post({ model: 'plain:gpt-4o', max_output_tokens: 16, input: IMAGE_INPUT })).status).toBe(200)

  // 400 µ$: the recorded 1,501 tokens and the request (~240 µ$) fit; the image again at even the configured 4,096 (614 µ$) would not.
  await leave('ctx-model-same', 400)
  upstream.answer(provider('resp_same_2'))
  const next = { previous_response_id: 'resp_same_1', input: 'And the legend?', max_output_tokens: 16 }
  expect(await post({ model: 'plain:gpt-4o-mini', ...next })).toEqual({ status: 402, code: 'budget_exceeded' })
  expect(upstream.calls.length).toBe(1)
  expect((await post({ model: 'plain:gpt-4o', ...next })).status).toBe(200)
  expect(row('resp_same_2')).toEqual({ model: 'plain:gpt-4o', media_parts: 1 })
})

test('an output item with an image, named by reference on another model, is held at that model\'s media bound', async () => {
  const chart = { type: 'code_interpreter_call', id: 'ci_chart', status: 'completed', code: 'plot()', container_id: 'cntr_1', outputs: [{ type: 'image', url: URL }] }
  upstream.answer(provider('resp_item_1', { chart: false, output: [chart] }))
  const { secret } = await gw.userWithKey({ id: 'ctx-model-item', max_budget: 1 })
  const post = poster(secret)
  expect((await post({ model: 'plain:gpt-4o', max_output_tokens: 16, input: 'Plot it.' })).status).toBe(200)
  expect(row('ci_chart')).toEqual({ model: 'plain:gpt-4o', media_parts: 1 })
  expect(row('resp_item_1')).toEqual({ model: 'plain:gpt-4o', media_parts: 1 })

  await leave('ctx-model-item', 1000)
  upstream.answer(provider('resp_item_2'))
  const input = [{ type: 'item_reference', id: 'ci_chart' }, { role: 'user', content: 'And the legend?' }]
  expect(await post({ model: 'plain:gpt-4o-mini', input, max_output_tokens: 16 })).toEqual({ status: 402, code: 'budget_exceeded' })
  expect(upstream.calls.length).toBe(1)
  expect((await post({ model: 'plain:gpt-4o', input, max_output_tokens: 16 })).status).toBe(200)
})

test('a conversation is sized by its latest turn\'s model: an image added on gpt-4o is held again on gpt-4o-mini, where it began', async () => {
  const { secret } = await gw.userWithKey({ id: 'ctx-model-conv', max_budget: 1 })
  const post = poster(secret)
  upstream.answer(provider('resp_conv_1', { chart: false, conversation: 'conv_chart' }))
  expect((await post({ model: 'plain:gpt-4o-mini', max_output_tokens: 16, input: 'Hello.' })).status).toBe(200)
  expect(row('conv_chart')).toEqual({ model: 'plain:gpt-4o-mini', media_parts: 0 })
  upstream.answer(provider('resp_conv_2', { conversation: 'conv_chart' }))
  expect((await post({ model: 'plain:gpt-4o', conversation: 'conv_chart', max_output_tokens: 16, input: IMAGE_INPUT })).status).toBe(200)
  expect(row('conv_chart')).toEqual({ model: 'plain:gpt-4o', media_parts: 1 })

  await leave('ctx-model-conv', 1000)
  upstream.answer(provider('resp_conv_3', { conversation: 'conv_chart' }))
  expect(await post({ model: 'plain:gpt-4o-mini', conversation: 'conv_chart', input: 'And the legend?', max_output_tokens: 16 })).toEqual({ status: 402, code: 'budget_exceeded' })
  expect(upstream.calls.length).toBe(2)
})

test('a context recorded before its media were counted is refused on another model (400, nothing held), served on its own', async () => {
  const { secret } = await gw.userWithKey({ id: 'ctx-model-old', max_budget: 1 })
  gw.exec(
    `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, created_at) VALUES ('resp_old', 'response', 'ctx-model-old', 'plain', 'plain:gpt-4o', 1501, NULL, 1)`,
  )
  const post = poster(secret)
  upstream.answer(provider('resp_old_2'))
  const next = { previous_response_id: 'resp_old', input: 'And the legend?', max_output_tokens: 16 }
  expect(await post({ model: 'plain:gpt-4o-mini', ...next })).toEqual({ status: 400, code: 'context_size_unknown' })
  expect(upstream.calls.length).toBe(0)
  expect((await post({ model: 'plain:gpt-4o', ...next })).status).toBe(200)
  // Unknown stays unknown along the chain.
  expect(row('resp_old_2')).toEqual({ model: 'plain:gpt-4o', media_parts: null })
})

test('the media parts an input or output carries are counted where the estimate reads them: content, a tool\'s output, a code interpreter\'s outputs', () => {
  expect(responsesMediaParts('a string input')).toBe(0)
  expect(responsesMediaParts([
    ...IMAGE_INPUT,
    { type: 'computer_call_output', call_id: 'c1', output: { type: 'computer_screenshot', image_url: URL } },
    { type: 'code_interpreter_call', id: 'ci', outputs: [{ type: 'logs', logs: 'ok' }, { type: 'image', url: URL }] },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
    { type: 'item_reference', id: 'msg_1' },
  ])).toBe(3)
})
