import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { openAIEvent, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * README (server tools): "A stream cut before its usage pays the uses it began …, or every use allowed when it was
 * cut before its first byte or is a chat stream, whose searches do not show." A chat request with
 * `web_search_options` to Claude behind a router (LiteLLM) may run up to 10 searches (`search_context_size: "high"`,
 * or no size), and is held for all 10. Cut by its client before the usage chunk, it was billed one search: the
 * reduction for a finished answer whose usage counts none (`usesBilledOnlyIfCounted`: OpenAI's one search) was
 * applied to a stream whose searches the meter could not see, so a client that cut every such stream after its
 * first delta paid 1 search of the 10 the provider may have run.
 * plain:claude-sonnet-4-5: 1 µ$/M input, 2 µ$/M output (negligible), $0.01 a search.
 */
const MODEL = 'plain:claude-sonnet-4-5'
const SEARCH = 10_000 // µ$
const ALLOWED = 10
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { [MODEL]: { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } } } },
  (started) => ({ upstream, gw } = started),
)

const chunk = (delta: unknown) => ({ id: 'chatcmpl-cut', object: 'chat.completion.chunk', created: 1, model: 'claude-sonnet-4-5', choices: [{ index: 0, delta, finish_reason: null }] })

/** A search request whose stream the client cancels once its first delta arrived, before any usage; its settled row. */
async function cutAfterFirstDelta(userId: string, options: Record<string, unknown>) {
  upstream.answer(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          // LiteLLM streams Claude's text after (and between) the searches it ran: none of them shows in the chunks.
          c.enqueue(new TextEncoder().encode(openAIEvent(chunk({ role: 'assistant', content: 'Bun 1.4 shipped' }))))
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    ),
  )
  const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 })
  return settledRow(gw, userId, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 200, stream: true, web_search_options: options, messages: [{ role: 'user', content: 'What changed in Bun this week?' }] }),
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('shipped')) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
  })
}

test('a chat stream to Claude behind a router, cut before its usage, pays every search allowed (10 for "high")', async () => {
  const row = await cutAfterFirstDelta('router-cut-high', { search_context_size: 'high' })
  expect(row.status).toBe('aborted')
  expect(row.reserved).toBeGreaterThanOrEqual(ALLOWED * SEARCH)
  expect(row.cost).toBeGreaterThanOrEqual(ALLOWED * SEARCH)
})

test('so does one with no search_context_size (held at 10 searches)', async () => {
  const row = await cutAfterFirstDelta('router-cut-no-size', {})
  expect(row.status).toBe('aborted')
  expect(row.cost).toBeGreaterThanOrEqual(ALLOWED * SEARCH)
})
