import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { openAIEvent, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * README "Tiers": "Settlement uses the tier the provider says it served (… a priced tier the project defaults to is
 * billed though the request did not ask for it …)". OpenAI stamps every chat completion chunk with the tier serving
 * it (`service_tier: "priority"` for a project whose default is priority). A stream the client cuts before the usage
 * chunk is charged "input estimate + output counted from delivered deltas" (SPEC §6), and one that ends without a
 * usage its estimate: both at the tier its chunks stated, or a priority project's stream is billed half what OpenAI
 * bills it.
 *
 * plain:m: 1 µ$ in, 2 µ$ out per token, priority 2×. cap-output off (the default), no service_tier asked.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } } } },
  (started) => ({ upstream, gw } = started),
)

const TEXT = 'word '.repeat(400)

/** A provider that streams one delta stamped with `tier`, then stays open: the client cuts it before any usage. */
const openStreamAt = (tier: string) => () =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', service_tier: tier, choices: [{ index: 0, delta: { role: 'assistant', content: TEXT }, finish_reason: null }] })))
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  )

async function cutAfterFirstDelta(user: string, tier: string) {
  upstream.answer(openStreamAt(tier))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, stream: true, messages: [{ role: 'user', content: 'Write a lot about words.' }] }),
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('word word')) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
  })
}

/** A provider that streams one delta stamped with `tier` and ends with [DONE], no usage chunk (a server ignoring include_usage). */
const noUsageStreamAt = (tier: string) => () =>
  new Response(
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', service_tier: tier, choices: [{ index: 0, delta: { role: 'assistant', content: TEXT }, finish_reason: null }] }) +
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', service_tier: tier, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
      openAIEvent('[DONE]'),
    { headers: { 'content-type': 'text/event-stream' } },
  )

async function finishedWithoutUsage(user: string, tier: string) {
  upstream.answer(noUsageStreamAt(tier))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, stream: true, messages: [{ role: 'user', content: 'Write a lot about words.' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('a chat stream cut before its usage is billed at the tier its chunks said served it', () => {
  test('priority-stamped chunks cost twice the default-stamped ones, the same prompt and output delivered', async () => {
    const plain = await cutAfterFirstDelta('cut-default-tier', 'default')
    const priority = await cutAfterFirstDelta('cut-priority-tier', 'priority')
    expect(plain.status).toBe('aborted')
    expect(priority.status).toBe('aborted')
    expect(priority.completion_tokens).toBe(plain.completion_tokens)
    expect(plain.cost).toBeGreaterThan(0)
    // OpenAI bills the priority stream at 2× every token rate.
    expect(priority.cost).toBe(plain.cost * 2)
  })
})

describe('a chat stream finished without a usage chunk is charged its estimate at the tier its chunks stated', () => {
  test('priority-stamped chunks cost twice the default-stamped ones', async () => {
    const plain = await finishedWithoutUsage('no-usage-default-tier', 'default')
    const priority = await finishedWithoutUsage('no-usage-priority-tier', 'priority')
    expect(plain.cost).toBeGreaterThan(0)
    expect(priority.cost).toBe(plain.cost * 2)
  })
})
