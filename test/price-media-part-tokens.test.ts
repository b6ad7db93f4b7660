import { describe, expect, test } from 'bun:test'
import { estimateChat, type EstimateOptions } from '../src/budget/estimate'
import { estimateOptionsFor } from '../src/budget/estimate-options'
import type { Price } from '../src/pricing/price'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A price row's own media bound (`media_part_tokens`), cap-output on (SPEC §6: `spend <= max_budget` is an
 * invariant). gpt-4o-mini bills an image at 2,833 tokens plus 5,667 a 512-px tile; at high detail an image is
 * scaled to fit 2048 × 2048, then its short side to 768, so it has at most 2 × 4 = 8 tiles: 2,833 + 8 × 5,667 =
 * 48,169 tokens, for a few bytes of URL. Held at the configured bound (4,096), such a request took spend past
 * max_budget; held at its row's bound, on every route that sends media, it does not. A row without the field holds
 * at the configured bound as before.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const GPT_4O_MINI_HIGH_DETAIL_IMAGE = 2833 + 8 * 5667 // 48,169
/** A model billing an image past even ANTHROPIC_IMAGE_MAX_TOKENS (6,000): the Anthropic routes read the row too. */
const ANTHROPIC_ROW_IMAGE = 9000
const GLOBAL_BOUND = 4096
// cache_write_per_million at the input rate: the model's writes cost nothing extra, so its hold is at the input rate.
const MINI = { input_per_million: 0.15, output_per_million: 0.6, cache_write_per_million: 0.15 }

withScriptedGateway(
  {
    cap_output_tokens: true,
    // gpt-4o-mini are served by OpenAI's API, which writes no chat template of its own: no template allowance.
    template_overhead_tokens: 0,
    media_part_tokens: GLOBAL_BOUND,
    pricing: {
      'plain:gpt-4o-mini': { ...MINI, media_part_tokens: GPT_4O_MINI_HIGH_DETAIL_IMAGE },
      'plain:vision': MINI,
      'ant:big-images': { input_per_million: 3, output_per_million: 15, media_part_tokens: ANTHROPIC_ROW_IMAGE },
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** The image parts a provider received, in any wire format. */
function imagesIn(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + imagesIn(v), 0)
  if (!value || typeof value !== 'object') return 0
  const type = (value as { type?: unknown }).type
  const own = type === 'image_url' || type === 'input_image' || type === 'image' ? 1 : 0
  return own + Object.values(value).reduce((n: number, v) => n + imagesIn(v), 0)
}

/** The length of the text parts a provider received. */
function textIn(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textIn(v), 0)
  if (!value || typeof value !== 'object') return 0
  const { text, ...rest } = value as { text?: unknown }
  return (typeof text === 'string' ? text.length : 0) + textIn(Object.values(rest))
}

/** The provider bills each image it received at `imageTokens`, its text at a token a character, and a message's framing. */
const billImagesAt = (imageTokens: number) => ({ path, body }: ScriptedCall) => {
  const input = imagesIn(body) * imageTokens + textIn(body) + 8
  if (path.endsWith('/messages'))
    return jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: input, output_tokens: 16, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    })
  if (path.endsWith('/responses'))
    return jsonResponse({
      id: 'resp_1', object: 'response', status: 'completed', model: body.model,
      usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + 16 },
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    })
  return jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: input, completion_tokens: 16, total_tokens: input + 16 },
  })
}

const URL = 'https://example.com/chart-768x2048.png'
const chatBody = (model: string) => ({
  model, max_completion_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Read the chart.' }, { type: 'image_url', image_url: { url: URL, detail: 'high' } }] }],
})
const messagesBody = (model: string) => ({
  model, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Read the chart.' }, { type: 'image', source: { type: 'url', url: URL } }] }],
})
const responsesBody = (model: string) => ({
  model, max_output_tokens: 16, store: false,
  input: [{ role: 'user', content: [{ type: 'input_text', text: 'Read the chart.' }, { type: 'input_image', image_url: URL, detail: 'high' }] }],
})

describe('cap-output on: a media part billed at its row\'s media_part_tokens never takes spend past max_budget', () => {
  const cases: [string, string, unknown, number][] = [
    ['chat', '/v1/chat/completions', chatBody('plain:gpt-4o-mini'), GPT_4O_MINI_HIGH_DETAIL_IMAGE],
    ['messages → OpenAI', '/v1/messages', messagesBody('plain:gpt-4o-mini'), GPT_4O_MINI_HIGH_DETAIL_IMAGE],
    ['responses', '/v1/responses', responsesBody('plain:gpt-4o-mini'), GPT_4O_MINI_HIGH_DETAIL_IMAGE],
    ['messages', '/v1/messages', messagesBody('ant:big-images'), ANTHROPIC_ROW_IMAGE],
    ['chat → Anthropic', '/v1/chat/completions', chatBody('ant:big-images'), ANTHROPIC_ROW_IMAGE],
    ['responses → Anthropic', '/v1/responses', responsesBody('ant:big-images'), ANTHROPIC_ROW_IMAGE],
  ]
  for (const [route, path, body, imageTokens] of cases)
    test(route, async () => {
      upstream.answer(billImagesAt(imageTokens))
      const { second, spend, budget } = await spendAtHeldBudget(gw, path, body, `media-${route.replace(/\W+/g, '-')}`)
      expect(imagesIn(upstream.calls.at(-1)!.body)).toBe(1)
      expect(second.status).toBe(200)
      // Held at the configured bound instead, chat to gpt-4o-mini spent 7,239 µ$ on a budget of 634.
      expect(spend).toBeLessThanOrEqual(budget)
    })
})

test('a row without media_part_tokens holds an image at the configured bound, as before', async () => {
  upstream.answer(billImagesAt(GLOBAL_BOUND))
  const hold = async (model: string) => {
    const { secret } = await gw.userWithKey({ id: `hold-${model.replace(/\W+/g, '-')}`, max_budget: 1 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(chatBody(model)),
    })
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    return Math.round((1 - Number(res.headers.get('x-budget-remaining'))) * 1e6)
  }
  const options: EstimateOptions = { defaultMaxOutputTokens: 4096, mediaPartTokens: GLOBAL_BOUND, hardBounds: true }
  const { inputTokens } = estimateChat(chatBody('plain:vision'), options)
  // 0.15 µ$ an input token, 0.6 an output one, rounded up to the micro-USD.
  const heldFor = (input: number) => Math.ceil((input * 150_000 + 16 * 600_000) / 1e6)
  expect(await hold('plain:vision')).toBe(heldFor(inputTokens))
  expect(await hold('plain:gpt-4o-mini')).toBe(heldFor(inputTokens + GPT_4O_MINI_HIGH_DETAIL_IMAGE - GLOBAL_BOUND))
})

describe('estimateOptionsFor: the media bound of a request to a model', () => {
  const config = { default_max_output_tokens: 4096, media_part_tokens: GLOBAL_BOUND, pdf_page_tokens: 3000, pdf_max_pages: 100, cap_output_tokens: true, template_overhead_tokens: 1024 }
  const price = (mediaPartTokens: number | null): Price => ({ id: 1, model: 'plain:m', inputPerMillion: 1, outputPerMillion: 1, cachedInputPerMillion: null, perRequest: null, createdAt: 0, mediaPartTokens })

  test("with cap-output on, the row's bound when it is larger than the configured one", () => {
    expect(estimateOptionsFor(config, price(48_169)).mediaPartTokens).toBe(48_169)
    expect(estimateOptionsFor(config, price(1000)).mediaPartTokens).toBe(GLOBAL_BOUND)
    expect(estimateOptionsFor(config, price(null)).mediaPartTokens).toBe(GLOBAL_BOUND)
    expect(estimateOptionsFor(config, null).mediaPartTokens).toBe(GLOBAL_BOUND)
  })

  test('with cap-output off, the configured bound: the estimate is no hard bound then', () => {
    expect(estimateOptionsFor({ ...config, cap_output_tokens: false }, price(48_169))).toMatchObject({ mediaPartTokens: GLOBAL_BOUND, hardBounds: false })
  })

  test('the hard bounds apply on top, the context window is passed on', () => {
    const options = estimateOptionsFor(config, price(48_169), { anthropic: true, upstreamModel: 'claude-sonnet-4-5', openedWindowTokens: 1_000_000 })
    expect(options).toEqual({ defaultMaxOutputTokens: 4096, mediaPartTokens: 48_169, pdfPageTokens: 3000, pdfMaxPages: 600, hardBounds: true, contextWindowTokens: 1_000_000, promptsWithinWindow: true, templateOverheadTokens: 0, readsFileIdUrls: false })
  })
})
