import { describe, expect, test } from 'bun:test'
import { DEFAULT_TEMPLATE_OVERHEAD_TOKENS, estimateChat, estimateResponses } from '../src/budget/estimate'
import { estimateOptionsFor } from '../src/budget/estimate-options'
import type { Price } from '../src/pricing/price'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Text a chat template writes on its own is input the body does not show, and vLLM, SGLang, Ollama and LM Studio
 * bill it in `prompt_tokens`:
 *
 *  - gpt-oss (the harmony format) opens every prompt with a system message the client never sends: "You are
 *    ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: …\n\nReasoning:
 *    medium\n\n# Valid channels: …";
 *  - Mistral Small 3.1's template writes a ~680-byte `default_system_message` whenever the request has none.
 *
 * With cap-output on (SPEC §6: `spend <= max_budget`) a request to an OpenAI-compatible provider that is not
 * OpenAI's API holds the template allowance once. It held ~30 input tokens for the 60–190 billed. The provider here
 * renders the template and bills each special token as one and a token per 4 bytes of the rest.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MISTRAL = 'plain:mistralai/Mistral-Small-3.1-24B-Instruct-2503'
const GPT_OSS = 'plain:openai/gpt-oss-120b'

const MISTRAL_DEFAULT_SYSTEM =
  'You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI, a French startup headquartered in Paris.\n' +
  'Your knowledge base was last updated on 2023-10-01. The current date is 2026-12-04.\n\n' +
  "When you're not sure about some information, you say that you don't have the information and don't make up anything.\n" +
  "If the user's question is not clear, ambiguous, or does not provide enough context for you to accurately answer the question, " +
  'you do not try to answer it right away and you rather ask the user to clarify their request (e.g. "What are some good restaurants around me?" => ' +
  '"Where are you?" or "When is the next flight to Tokyo" => "Where do you travel from?")'

const HARMONY_SYSTEM =
  'You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: 2026-12-04\n\n' +
  'Reasoning: medium\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.'

type Piece = { special: string } | string
type Msg = { role: string; content: string }

/** The two templates' renderings (string contents only, as this test sends them): special tokens and text. */
function rendered(model: string, messages: Msg[]): Piece[] {
  if (model.includes('gpt-oss')) {
    const out: Piece[] = [{ special: '<|start|>' }, 'system', { special: '<|message|>' }, HARMONY_SYSTEM, { special: '<|end|>' }]
    for (const m of messages) out.push({ special: '<|start|>' }, m.role === 'system' ? 'developer' : m.role, { special: '<|message|>' }, m.content, { special: '<|end|>' })
    out.push({ special: '<|start|>' }, 'assistant')
    return out
  }
  const own = messages[0]?.role === 'system'
  const out: Piece[] = [{ special: '<s>' }, { special: '[SYSTEM_PROMPT]' }, own ? messages[0]!.content : MISTRAL_DEFAULT_SYSTEM, { special: '[/SYSTEM_PROMPT]' }]
  for (const m of own ? messages.slice(1) : messages)
    out.push(...(m.role === 'user' ? [{ special: '[INST]' }, m.content, { special: '[/INST]' }] : [m.content, { special: '</s>' }]))
  return out
}

const tokens = (pieces: Piece[]): number =>
  pieces.reduce<number>((n, p) => n + (typeof p === 'string' ? Math.ceil(Buffer.byteLength(p) / 4) : 1), 0)

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      [MISTRAL]: { input_per_million: 10, output_per_million: 10 },
      [GPT_OSS]: { input_per_million: 10, output_per_million: 10 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const renderAndBill = ({ body }: ScriptedCall) => {
  const prompt = tokens(rendered(body.model, body.messages))
  return jsonResponse({
    id: 'cmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'length' }],
    usage: { prompt_tokens: prompt, completion_tokens: body.max_tokens, total_tokens: prompt + body.max_tokens },
  })
}

test('cap-output on: the system message gpt-oss\'s template opens every prompt with never takes spend past max_budget', async () => {
  upstream.answer(renderAndBill)
  const body = { model: GPT_OSS, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-template-harmony')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: the default system prompt Mistral Small 3.1\'s template adds never takes spend past max_budget', async () => {
  upstream.answer(renderAndBill)
  const body = { model: MISTRAL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-template-mistral')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a Responses request to gpt-oss (vLLM\'s own Responses API renders the same system message) never takes spend past max_budget', async () => {
  upstream.answer(({ body }: ScriptedCall) => {
    const prompt = tokens(rendered(GPT_OSS, [{ role: 'user', content: String(body.input) }]))
    return jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, model: body.model, status: 'incomplete',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello!', annotations: [] }] }],
      usage: { input_tokens: prompt, output_tokens: body.max_output_tokens, total_tokens: prompt + body.max_output_tokens },
    })
  })
  const body = { model: GPT_OSS, max_output_tokens: 16, store: false, input: 'hi' }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'fx-template-harmony-responses')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

describe('estimateOptionsFor: the template allowance goes to providers that render a chat template of their own', () => {
  const config = { default_max_output_tokens: 4096, media_part_tokens: 4096, pdf_page_tokens: 3000, pdf_max_pages: 100, cap_output_tokens: true, template_overhead_tokens: 1024 }
  const allowance = (provider: { type: 'openai' | 'anthropic'; base_url: string; catalog?: string }, settings = config) =>
    estimateOptionsFor(settings, null, { provider }).templateOverheadTokens

  test('an OpenAI-compatible server holds it; OpenAI\'s API (its hosts, catalog openai or azure) and Anthropic do not', () => {
    expect(allowance({ type: 'openai', base_url: 'http://vllm:8000/v1' })).toBe(1024)
    expect(allowance({ type: 'openai', base_url: 'https://openrouter.ai/api/v1', catalog: 'openrouter' })).toBe(1024)
    expect(allowance({ type: 'openai', base_url: 'https://api.openai.com/v1' })).toBe(0)
    expect(allowance({ type: 'openai', base_url: 'https://eu.api.openai.com/v1' })).toBe(0)
    expect(allowance({ type: 'openai', base_url: 'https://my-resource.openai.azure.com/openai/v1', catalog: 'azure' })).toBe(0)
    expect(allowance({ type: 'anthropic', base_url: 'https://api.anthropic.com' })).toBe(0)
  })

  test('only with cap-output on, at the configured size; the default covers the largest known template text', () => {
    const vllm = { type: 'openai' as const, base_url: 'http://vllm:8000/v1' }
    expect(allowance(vllm, { ...config, cap_output_tokens: false })).toBe(0)
    expect(allowance(vllm, { ...config, template_overhead_tokens: 0 })).toBe(0)
    expect(DEFAULT_TEMPLATE_OVERHEAD_TOKENS).toBeGreaterThanOrEqual(Buffer.byteLength(MISTRAL_DEFAULT_SYSTEM) + 2)
  })

  test("a price row's template_overhead_tokens sizes it for its model, 0 holding none", () => {
    const vllm = { type: 'openai' as const, base_url: 'http://vllm:8000/v1' }
    const row = (templateOverheadTokens: number | null): Price => ({ id: 1, model: 'plain:m', inputPerMillion: 1, outputPerMillion: 1, cachedInputPerMillion: null, perRequest: null, createdAt: 0, templateOverheadTokens })
    expect(estimateOptionsFor(config, row(3000), { provider: vllm }).templateOverheadTokens).toBe(3000)
    expect(estimateOptionsFor(config, row(0), { provider: vllm }).templateOverheadTokens).toBe(0)
    expect(estimateOptionsFor(config, row(null), { provider: vllm }).templateOverheadTokens).toBe(1024)
    expect(estimateOptionsFor(config, row(3000), { provider: { type: 'openai', base_url: 'https://api.openai.com/v1' } }).templateOverheadTokens).toBe(0)
  })

  test('chat and Responses hold it once a request, however many messages it sends', () => {
    const options = { defaultMaxOutputTokens: 16, mediaPartTokens: 4096, templateOverheadTokens: 1024 }
    const without = { ...options, templateOverheadTokens: 0 }
    const messages = Array.from({ length: 5 }, () => ({ role: 'user', content: 'hi' }))
    expect(estimateChat({ messages }, options).inputTokens - estimateChat({ messages }, without).inputTokens).toBe(1024)
    expect(estimateResponses({ input: messages }, options).inputTokens - estimateResponses({ input: messages }, without).inputTokens).toBe(1024)
  })
})
