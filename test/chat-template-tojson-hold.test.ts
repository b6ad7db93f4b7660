import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The estimate counts a tool definition by the bytes of its compact JSON (`textBytes`: "a token is at least one
 * byte"). An OpenAI-compatible server does not bill those bytes: vLLM renders the request with the model's chat
 * template, and the template re-serializes every tool with transformers' `tojson` filter
 * (`json.dumps(x, ensure_ascii=False, indent=indent, separators=separators)`). Llama 3.1/3.2/3.3's official
 * template writes each tool as `t | tojson(indent=4)`: every array item and object member on its own line,
 * indented. An `enum` item that is 2 bytes compact (`0,`) becomes `0` `,\n` `<indent>` ` ` — four pre-tokens of
 * Llama 3's tokenizer (the cl100k pattern), each at least one token: the prompt bills about twice the bytes held.
 * (Qwen/Hermes templates, plain `tojson`, render `0, `: three pre-tokens, 1.5x.) The same template writes a tool
 * message's content as `message.content | tojson` (a string `is iterable` in Jinja): a string the estimate counts
 * by its UTF-8 bytes is escaped, and a control character (1 byte) becomes `\u0001`, three pre-tokens: 3x. Its
 * branch is `message.role == "tool" or message.role == "ipython"` (Llama 3.1–3.3 and Llama 4), and vLLM and the
 * gateway take any role string: a tool result sent as `ipython` was held as its raw bytes.
 * With cap-output on, SPEC §6 makes `spend <= max_budget` an invariant, and input is charged whole.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:meta-llama/Llama-3.1-8B-Instruct'

withScriptedGateway(
  { cap_output_tokens: true, pricing: { [MODEL]: { input_per_million: 1, output_per_million: 2 } } },
  (started) => ({ upstream, gw } = started),
)

/** Llama 3's pre-tokenizer (tiktoken's cl100k pattern): BPE never merges across these, so each is >= 1 token. */
const LLAMA3_PRETOKENS = /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu
const preTokens = (text: string) => text.match(LLAMA3_PRETOKENS)?.length ?? 0

/** A lower bound of what vLLM bills: the tools as the Llama 3.1 template renders them (`tojson(indent=4)`; JS's indent matches Python's for ASCII), nothing else. */
const renderedToolTokens = (tools: unknown[]) => tools.reduce<number>((n, t) => n + preTokens(JSON.stringify(t, null, 4)) + 1, 0)

/** A tool message (`tool` or `ipython`) as the Llama 3.1 template renders it: `message.content | tojson` (JS escapes control characters as Python's json.dumps does). */
const renderedToolResultTokens = (messages: Array<{ role: string; content: unknown }>) =>
  messages.filter((m) => m.role === 'tool' || m.role === 'ipython').reduce((n, m) => n + preTokens(JSON.stringify(m.content)), 0)

const billTheRenderedPrompt = ({ body }: ScriptedCall) => {
  const prompt = renderedToolTokens(body.tools ?? []) + renderedToolResultTokens(body.messages) + 30
  return jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: '{"name": "pick", "parameters": {"n": 7}}' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: 12, total_tokens: prompt + 12 },
  })
}

test('cap-output on: a tool schema the chat template re-indents never takes spend past max_budget', async () => {
  upstream.answer(billTheRenderedPrompt)
  const tool = {
    type: 'function',
    function: {
      name: 'pick',
      description: 'Pick a digit.',
      parameters: { type: 'object', properties: { n: { type: 'integer', enum: Array.from({ length: 25_000 }, (_, i) => i % 10) } }, required: ['n'] },
    },
  }
  const body = { model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'Pick one.' }], tools: [tool] }
  // 50 kB of compact JSON (what the hold counts) is ~100,000 tokens as the template writes it.
  expect(JSON.stringify(tool).length).toBeLessThan(51_000)
  expect(renderedToolTokens([tool])).toBeGreaterThan(99_000)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'tpl-json')
  expect(upstream.calls.at(-1)!.body.tools[0].function.parameters.properties.n.enum).toHaveLength(25_000)
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a tool result the chat template escapes never takes spend past max_budget', async () => {
  upstream.answer(billTheRenderedPrompt)
  const result = '\u0001'.repeat(30_000)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [
      { role: 'user', content: 'Read the sensor.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: result },
    ],
  }
  // 30 kB held as 30 kB; as the template writes it, 180 kB of `\u0001`: 90,000 tokens.
  expect(preTokens(JSON.stringify(result))).toBe(90_002)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'tpl-tool-result')
  expect(upstream.calls.at(-1)!.body.messages[2].content).toBe(result)
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a tool result sent as role "ipython" (the Llama template\'s other tool role) never takes spend past max_budget', async () => {
  upstream.answer(billTheRenderedPrompt)
  const result = '\u0001'.repeat(30_000)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [
      { role: 'user', content: 'Read the sensor.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read', arguments: '{}' } }] },
      { role: 'ipython', content: result },
    ],
  }
  expect(preTokens(JSON.stringify(result))).toBe(90_002)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'tpl-ipython-result')
  expect(upstream.calls.at(-1)!.body.messages[2]).toEqual({ role: 'ipython', content: result })
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
