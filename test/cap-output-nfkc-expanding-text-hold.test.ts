import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { unbilledInputOf } from './support/unbilled-input'

/**
 * SPEC §6: with cap-output on, a usage is charged no more input than the hold priced, so the input estimate must
 * bound what the provider bills ("a token is at least one byte"). Anthropic's tokenizer (`@anthropic-ai/tokenizer`)
 * normalizes a text to NFKC before it counts, and NFKC expands some characters many-fold: U+FDFA (3 UTF-8 bytes)
 * becomes "صلى الله عليه وسلم" (33 bytes), and `countTokens('\uFDFA'.repeat(20_000))` is 300,000, 5 tokens a byte
 * sent. Held at the bytes sent, four fifths of that input would go unbilled; held at the bytes of the NFKC form, it is
 * charged whole, on every route and to an OpenAI-compatible router serving Claude alike.
 * ant:m and plain:claude-sonnet-4-5: 1 µ$ an input token, 2 µ$ an output token. The mock reports Claude's count.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    metrics_enabled: true,
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 }, 'plain:claude-sonnet-4-5': { input_per_million: 1, output_per_million: 2 } },
  },
  (s) => ({ upstream, gw } = s),
)

const CHARS = 20_000
const TEXT = '\uFDFA'.repeat(CHARS)
/** `@anthropic-ai/tokenizer` 0.0.4: `countTokens('\uFDFA'.repeat(20_000))` === 300,000 (NFKC, then Claude's BPE). */
const CLAUDE_COUNT = 300_000

const anthropicAnswer = () =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'm',
    content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: CLAUDE_COUNT, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  })

/** The same count from an OpenAI-compatible router serving Claude (OpenRouter, LiteLLM): Claude's tokenizer all the same. */
const routerAnswer = () =>
  jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'claude-sonnet-4-5',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: CLAUDE_COUNT, completion_tokens: 1, total_tokens: CLAUDE_COUNT + 1 },
  })

async function charged(id: string, send: (secret: string) => Promise<Response>, provider = 'ant') {
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  upstream.answer(provider === 'ant' ? anthropicAnswer : routerAnswer)
  let row!: Awaited<ReturnType<typeof settledRow>>
  const unbilled = await unbilledInputOf(gw, provider, async () => {
    row = await settledRow(gw, id, async () => {
      const res = await send(secret)
      expect(res.status).toBe(200)
      await res.text()
    })
  })
  // The provider was sent the text as the client wrote it: nothing normalized it on the way.
  expect(JSON.stringify(upstream.calls.at(-1)!.body)).toContain(TEXT)
  return { row, unbilled }
}

/** The provider's whole count is charged: nothing left unbilled, the cost at least the reported input at 1 µ$ a token. */
function expectWholeInputCharged({ row, unbilled }: Awaited<ReturnType<typeof charged>>) {
  expect(row.prompt_tokens).toBe(CLAUDE_COUNT)
  expect(unbilled).toBe(0)
  expect(row.cost).toBeGreaterThanOrEqual(CLAUDE_COUNT)
}

describe('cap-output on: text whose NFKC form is longer is held at that form', () => {
  test('Messages: 20,000 × U+FDFA (60 KB) is billed 300,000 input tokens by Claude\'s tokenizer: all of it charged', async () => {
    expectWholeInputCharged(
      await charged('nfkc-messages', (secret) =>
        fetch(`${gw.url}/v1/messages`, {
          method: 'POST',
          headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'ant:m', max_tokens: 16, messages: [{ role: 'user', content: TEXT }] }),
        }),
      ),
    )
  })

  test('chat completions translated to Anthropic: the same text in a system message, all of it charged', async () => {
    expectWholeInputCharged(
      await charged('nfkc-chat', (secret) =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'ant:m', max_tokens: 16, messages: [{ role: 'system', content: TEXT }, { role: 'user', content: 'hi' }] }),
        }),
      ),
    )
  })

  test('Responses translated to Anthropic: the same text as instructions, all of it charged', async () => {
    expectWholeInputCharged(await charged('nfkc-responses', (secret) => postResponses(gw, secret, { model: 'ant:m', max_output_tokens: 16, instructions: TEXT, input: 'hi' })))
  })

  test('chat completions to an OpenAI-compatible router serving Claude: the same text, all of it charged', async () => {
    expectWholeInputCharged(
      await charged(
        'nfkc-router',
        (secret) =>
          fetch(`${gw.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'plain:claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: TEXT }] }),
          }),
        'plain',
      ),
    )
  })
})
