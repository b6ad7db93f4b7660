import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A tool call's `arguments` (a JSON string) is held as its escaped bytes plus what a chat template adds
 * (`templateRewriteTokens`), because vLLM parses the string (`json.loads`, vLLM's `_postprocess_messages`) and the
 * chat template writes the value again with `tojson` (`json.dumps`). `json.dumps` does not write a number as the
 * client did: `1e15` is read as a float and written `1000000000000000.0`, 4 bytes becoming 18 (Python's float repr
 * writes every digit below 1e16, plus `.0`). Counting only the separators held an assistant turn whose arguments
 * are `[1e15,1e15,…]` (the client writes its own history) at 8 tokens an item, while Llama 3.1's template
 * (`tool_call.arguments | tojson`) renders each as `1000000000000000.0, `: 10 pre-tokens of Llama 3's tokenizer,
 * each at least one token. With cap-output on, SPEC §6 makes `spend <= max_budget` an invariant. (The row prices
 * cache writes at the input rate, as a self-hosted vLLM bills none: otherwise the hold's 1.25x allowance for
 * writes the provider may make by itself hides this 1.25x gap.)
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:meta-llama/Llama-3.1-8B-Instruct'

withScriptedGateway(
  { cap_output_tokens: true, pricing: { [MODEL]: { input_per_million: 1, output_per_million: 2, cache_write_per_million: 1 } } },
  (started) => ({ upstream, gw } = started),
)

/** Llama 3's pre-tokenizer (tiktoken's cl100k pattern): BPE never merges across these, so each is >= 1 token. */
const LLAMA3_PRETOKENS = /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu
const preTokens = (text: string) => text.match(LLAMA3_PRETOKENS)?.length ?? 0

const ITEMS = 20_000
const ARGUMENTS = `{"v":[${Array(ITEMS).fill('1e15').join(',')}]}`
/**
 * The call as the Llama 3.1 template writes it: `{"name": "…", "parameters": ` + `json.dumps(json.loads(arguments))`.
 * Python: json.loads('1e15') == 1000000000000000.0, and json.dumps writes it '1000000000000000.0'.
 */
const RENDERED_CALL = `{"name": "read", "parameters": {"v": [${Array(ITEMS).fill('1000000000000000.0').join(', ')}]}}`

const billTheRenderedPrompt = ({ body }: ScriptedCall) => {
  const prompt = preTokens(RENDERED_CALL) + 30
  return jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: 2, total_tokens: prompt + 2 },
  })
}

test('cap-output on: tool-call arguments whose numbers the template writes longer never take spend past max_budget', async () => {
  upstream.answer(billTheRenderedPrompt)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [
      { role: 'user', content: 'Read it.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read', arguments: ARGUMENTS } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'done' },
    ],
  }
  // 100 kB of arguments (5 bytes and a separator an item: ~160,000 tokens held) render as ~200,000 pre-tokens.
  expect(preTokens(RENDERED_CALL)).toBeGreaterThan(10 * ITEMS)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'tpl-args-floats')
  expect(upstream.calls.at(-1)!.body.messages[1].tool_calls[0].function.arguments).toBe(ARGUMENTS)
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
