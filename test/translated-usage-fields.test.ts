import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a translated answer tells its client the counts the gateway bills, in the client's
 * terms (src/translate/message-to-completion.ts `chatUsageOf`: "prompt tokens with the cache reads and writes (the
 * reads are the cached ones)"; src/translate/completion-to-message.ts `messageUsageOf`: "`input_tokens` without the
 * cache reads and writes, which are reported beside it"). No test checks the cache fields of a translated JSON
 * answer, so telling a chat client 0 cached tokens, or an Anthropic client its cache writes twice (inside
 * `input_tokens` and in `cache_creation_input_tokens`), survived: the client's own cost accounting (the SDKs' usage,
 * LiteLLM/Langfuse cost callbacks) then disagrees with what it is billed.
 * Rates 1 µ$ input, 0.1 µ$ cached, 1.25 µ$ cache write, 2 µ$ output per token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const row = { input_per_million: 1, output_per_million: 2, cached_input_per_million: 0.1, cache_write_per_million: 1.25 }
withScriptedGateway({ pricing: { 'ant:m': row, 'plain:m': row } }, (s) => ({ upstream, gw } = s))

const post = (secret: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

test('chat client, Anthropic provider: prompt_tokens_details.cached_tokens are the cache reads billed', async () => {
  // Mutant killed: chatUsageOf's `cached_tokens: counts?.cachedTokens ?? 0` → `cached_tokens: 0`.
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 200, cache_read_input_tokens: 800, cache_creation_input_tokens: 0, output_tokens: 10 },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'kc-tr-chat', max_budget: 10 })
  let usage: any
  const billed = await settledRow(gw, 'kc-tr-chat', async () => {
    const res = await post(secret, '/v1/chat/completions', { model: 'ant:m', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })
    expect(res.status).toBe(200)
    usage = ((await res.json()) as any).usage
  })
  expect(billed.cost).toBe(200 + 80 + 20) // 800 cached at 0.1 µ$
  expect({ prompt: usage.prompt_tokens, cached: usage.prompt_tokens_details?.cached_tokens, completion: usage.completion_tokens }).toEqual({ prompt: 1_000, cached: 800, completion: 10 })
})

test('Anthropic client, OpenAI-compatible provider (OpenRouter cache writes): input_tokens leave out the reads and the writes', async () => {
  // Mutant killed: messageUsageOf's `input_tokens: promptTokens - read - written` → `promptTokens - read`.
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1_000, completion_tokens: 10, total_tokens: 1_010, prompt_tokens_details: { cached_tokens: 300, cache_write_tokens: 500 } },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'kc-tr-msg', max_budget: 10 })
  let usage: any
  await settledRow(gw, 'kc-tr-msg', async () => {
    const res = await post(secret, '/v1/messages', { model: 'plain:m', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] }, { 'anthropic-version': '2023-06-01' })
    expect(res.status).toBe(200)
    usage = ((await res.json()) as any).usage
  })
  expect({ input: usage.input_tokens, read: usage.cache_read_input_tokens, written: usage.cache_creation_input_tokens, output: usage.output_tokens }).toEqual({ input: 200, read: 300, written: 500, output: 10 })
})
