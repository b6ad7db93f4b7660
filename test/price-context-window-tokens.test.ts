import { describe, expect, test } from 'bun:test'
import { estimateChat, estimateResponses, type EstimateOptions } from '../src/budget/estimate'
import { estimateOptionsFor } from '../src/budget/estimate-options'
import type { Price } from '../src/pricing/price'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A price row's own context window (`context_window_tokens`), cap-output on (SPEC §6: `spend <= max_budget` is an
 * invariant). A file sent by reference is held as the largest PDF a request may carry (100 pages × 3,000 tokens),
 * but a file that is not a PDF (a .txt or .docx by file_id) has no pages: on OpenAI it is bounded only by the
 * model's context window, gpt-4.1's 1,047,576 tokens. Held at the PDF bound, such a request took spend past
 * max_budget; held at its row's window, on chat and Responses, it does not. A row without the field holds the
 * file at the PDF bound as before.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const GPT_4_1_WINDOW = 1_047_576
const PDF_BOUND = 100 * 3000
/** gpt-4.1-nano's rates: a window's worth of input is $0.10, within the $1 the probe user holds it from. */
// cache_write_per_million at the input rate: the model's writes cost nothing extra, so its hold is at the input rate.
const NANO = { input_per_million: 0.1, output_per_million: 0.4, cache_write_per_million: 0.1 }

withScriptedGateway(
  {
    cap_output_tokens: true,
    // gpt-4.1 are served by OpenAI's API, which writes no chat template of its own: no template allowance.
    template_overhead_tokens: 0,
    pdf_max_pages: 100,
    pdf_page_tokens: 3000,
    pricing: {
      'plain:gpt-4.1-nano': { ...NANO, context_window_tokens: GPT_4_1_WINDOW },
      'plain:no-window': NANO,
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** The provider reads the text file to the end of the window: it bills the whole window as input. */
const billTheWindow = ({ path, body }: ScriptedCall) => {
  const input = GPT_4_1_WINDOW
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

const FILE_ID = 'file-notes-txt-9f8e7d'
const chatBody = (model: string) => ({
  model, max_completion_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the notes.' }, { type: 'file', file: { file_id: FILE_ID } }] }],
})
const responsesBody = (model: string) => ({
  model, max_output_tokens: 16, store: false,
  input: [{ role: 'user', content: [{ type: 'input_text', text: 'Summarise the notes.' }, { type: 'input_file', file_id: FILE_ID }] }],
})

describe("cap-output on: a text file by file_id billed at its row's context window never takes spend past max_budget", () => {
  const cases: [string, string, unknown][] = [
    ['chat', '/v1/chat/completions', chatBody('plain:gpt-4.1-nano')],
    ['responses', '/v1/responses', responsesBody('plain:gpt-4.1-nano')],
  ]
  for (const [route, path, body] of cases)
    test(route, async () => {
      upstream.answer(billTheWindow)
      const { second, spend, budget } = await spendAtHeldBudget(gw, path, body, `window-${route}`)
      expect(JSON.stringify(upstream.calls.at(-1)!.body)).toContain(FILE_ID)
      expect(second.status).toBe(200)
      // Held at the PDF bound instead, the file took spend to 104,764 µ$ on a budget of 30,014.
      expect(spend).toBeLessThanOrEqual(budget)
    })
})

test('a row without context_window_tokens holds a file by reference at the PDF bound, as before; with it, at the window', async () => {
  upstream.answer(billTheWindow)
  const hold = async (path: string, body: unknown, user: string) => {
    const { secret } = await gw.userWithKey({ id: user, max_budget: 1 })
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    return Math.round((1 - Number(res.headers.get('x-budget-remaining'))) * 1e6)
  }
  const options: EstimateOptions = { defaultMaxOutputTokens: 4096, mediaPartTokens: 4096, pdfPageTokens: 3000, pdfMaxPages: 100, hardBounds: true }
  // 0.1 µ$ an input token, 0.4 an output one, rounded up to the micro-USD.
  const heldFor = (input: number) => Math.ceil((input * 100_000 + 16 * 400_000) / 1e6)
  const chatInput = estimateChat(chatBody('plain:no-window'), options).inputTokens
  const responsesInput = estimateResponses(responsesBody('plain:no-window'), options).inputTokens
  expect(await hold('/v1/chat/completions', chatBody('plain:no-window'), 'hold-chat-no-window')).toBe(heldFor(chatInput))
  expect(await hold('/v1/responses', responsesBody('plain:no-window'), 'hold-responses-no-window')).toBe(heldFor(responsesInput))
  expect(await hold('/v1/chat/completions', chatBody('plain:gpt-4.1-nano'), 'hold-chat-window')).toBe(heldFor(chatInput + GPT_4_1_WINDOW - PDF_BOUND))
  expect(await hold('/v1/responses', responsesBody('plain:gpt-4.1-nano'), 'hold-responses-window')).toBe(heldFor(responsesInput + GPT_4_1_WINDOW - PDF_BOUND))
})

describe('estimateOptionsFor: the context window of a request to a model', () => {
  const config = { default_max_output_tokens: 4096, media_part_tokens: 4096, pdf_page_tokens: 3000, pdf_max_pages: 100, cap_output_tokens: true, template_overhead_tokens: 1024 }
  const price = (contextWindowTokens: number | null): Price => ({ id: 1, model: 'plain:m', inputPerMillion: 1, outputPerMillion: 1, cachedInputPerMillion: null, perRequest: null, createdAt: 0, contextWindowTokens })

  test("with cap-output on, the row's window, or the window the request opens on Claude if larger", () => {
    const claudeOpened = { anthropic: true, upstreamModel: 'claude-sonnet-4-5', openedWindowTokens: 1_000_000 }
    expect(estimateOptionsFor(config, price(GPT_4_1_WINDOW)).contextWindowTokens).toBe(GPT_4_1_WINDOW)
    expect(estimateOptionsFor(config, price(GPT_4_1_WINDOW), claudeOpened).contextWindowTokens).toBe(GPT_4_1_WINDOW)
    expect(estimateOptionsFor(config, price(200_000), claudeOpened).contextWindowTokens).toBe(1_000_000)
    expect(estimateOptionsFor(config, price(null), claudeOpened).contextWindowTokens).toBe(1_000_000)
    expect(estimateOptionsFor(config, price(null)).contextWindowTokens).toBeUndefined()
    expect(estimateOptionsFor(config, null).contextWindowTokens).toBeUndefined()
  })

  test('`context-1m-…` opens no window on a non-Claude model behind an Anthropic-type provider: only its row bounds it', () => {
    const grokOpened = { anthropic: true, upstreamModel: 'x-ai/grok-4-fast', openedWindowTokens: 1_000_000 }
    expect(estimateOptionsFor(config, price(null), grokOpened)).toMatchObject({ contextWindowTokens: undefined, pdfMaxPages: 600 })
    expect(estimateOptionsFor(config, price(2_000_000), grokOpened).contextWindowTokens).toBe(2_000_000)
    expect(estimateOptionsFor(config, price(200_000), grokOpened)).toMatchObject({ contextWindowTokens: 200_000, pdfMaxPages: 100 })
  })

  test('a window below the PDF bound holds a file by reference at the PDF bound', () => {
    const body = chatBody('plain:m')
    const small = estimateChat(body, estimateOptionsFor(config, price(128_000))).inputTokens
    expect(small).toBe(estimateChat(body, estimateOptionsFor(config, price(null))).inputTokens)
  })

  test('with cap-output off, no window: the estimate is no hard bound then', () => {
    expect(estimateOptionsFor({ ...config, cap_output_tokens: false }, price(GPT_4_1_WINDOW))).toMatchObject({ contextWindowTokens: undefined, hardBounds: false })
  })
})
