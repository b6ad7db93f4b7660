import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A stored prompt template named by id, on an OpenAI-compatible proxy: LiteLLM's prompt management takes
 * `prompt_id` (with `prompt_variables`, `prompt_version`/`prompt_label`) on `/chat/completions` and on
 * `/v1/responses` (docs.litellm.ai/docs/prompt_management, /docs/proxy/custom_prompt_management: the template,
 * fetched from Langfuse, LiteLLM's own store or a prompt API, is put before the request's messages, and may override
 * its model and parameters). The provider bills the template as prompt tokens; the gateway sees `"prompt_id": "…"`,
 * a few bytes, and held that: with cap-output on (SPEC §6: `spend <= max_budget`) the spend passed the budget by the
 * template's size. OpenAI's own `prompt: {id}` on Responses was refused for exactly this reason (400
 * `unsized_stored_input`, README "Stored state"); LiteLLM's spelling is now refused alike on every route, and so is a
 * `prompt` object on chat and Messages, before any hold.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:gpt-4.1'
/** A detailed agent system prompt kept in the prompt store (Langfuse): ~24 KB of text. */
const TEMPLATE_TOKENS = 6_000

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 2, output_per_million: 8 }, 'ant:claude-sonnet-4-5': { input_per_million: 3, output_per_million: 15 } },
  },
  (started) => ({ upstream, gw } = started),
)

const expandsTheTemplate = ({ path, body }: ScriptedCall) => {
  const prompt = 30 + (body.prompt_id ? TEMPLATE_TOKENS : 0)
  if (path.endsWith('/responses')) {
    const max = body.max_output_tokens ?? 16
    return jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'gpt-4.1',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      usage: { input_tokens: prompt, input_tokens_details: { cached_tokens: 0 }, output_tokens: max, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: prompt + max },
    })
  }
  const max = body.max_tokens ?? 16
  return jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4.1',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: max, total_tokens: prompt + max },
  })
}

const refusedBeforeAnyHold = async (path: string, body: Record<string, unknown>, name: string, field: string) => {
  const { secret } = await gw.userWithKey({ id: name, max_budget: 1 })
  const res = await fetch(gw.url + path, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) })
  const text = await res.text()
  expect(res.status, text).toBe(400)
  // Anthropic's error bodies carry a type, not a code.
  expect(text).toContain(path === '/v1/messages' ? 'invalid_request_error' : 'unsized_stored_input')
  expect(text).toContain(`${field}:`)
  expect(upstream.calls.length).toBe(0)
  await gw.settled()
  expect((await gw.admin('GET', `/v1/users/${name}`)).body.spend).toBe(0)
}

test('control: OpenAI\'s stored prompt (prompt: {id}) on Responses is refused before any hold', async () => {
  upstream.answer(expandsTheTemplate)
  const { secret } = await gw.userWithKey({ id: 'prompt-openai', max_budget: 1 })
  const res = await fetch(gw.url + '/v1/responses', {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_output_tokens: 16, prompt: { id: 'pmpt_abc', variables: { topic: 'x' } }, input: 'go' }),
  })
  expect(res.status).toBe(400)
  expect(upstream.calls.length).toBe(0)
})

test('a stored prompt by prompt_id on chat completions is refused before any hold', async () => {
  upstream.answer(expandsTheTemplate)
  await refusedBeforeAnyHold('/v1/chat/completions', {
    model: MODEL, max_tokens: 16,
    prompt_id: 'support-agent', prompt_variables: { customer: 'ACME' },
    messages: [{ role: 'user', content: 'Where is my order?' }],
  }, 'prompt-id-chat', 'prompt_id')
})

test('a stored prompt by prompt_id on Responses is refused before any hold', async () => {
  upstream.answer(expandsTheTemplate)
  await refusedBeforeAnyHold('/v1/responses', {
    model: MODEL, max_output_tokens: 16, store: false,
    prompt_id: 'support-agent', prompt_variables: { customer: 'ACME' },
    input: 'Where is my order?',
  }, 'prompt-id-responses', 'prompt_id')
})

test('a stored prompt object on chat completions is refused before any hold', async () => {
  upstream.answer(expandsTheTemplate)
  await refusedBeforeAnyHold('/v1/chat/completions', {
    model: MODEL, max_tokens: 16,
    prompt: { id: 'pmpt_abc', variables: { customer: 'ACME' } },
    messages: [{ role: 'user', content: 'Where is my order?' }],
  }, 'prompt-object-chat', 'prompt')
})

test('a stored prompt by prompt_id or a prompt object on Messages (a LiteLLM proxy\'s Anthropic endpoint) is refused before any hold', async () => {
  upstream.answer(() => jsonResponse({ error: 'not called' }, 500))
  const messages = { model: 'ant:claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Where is my order?' }] }
  await refusedBeforeAnyHold('/v1/messages', { ...messages, prompt_id: 'support-agent' }, 'prompt-id-messages', 'prompt_id')
  await refusedBeforeAnyHold('/v1/messages', { ...messages, prompt: { id: 'pmpt_abc' } }, 'prompt-object-messages', 'prompt')
})
