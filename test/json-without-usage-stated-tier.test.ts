import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { jsonResponse, openAIEvent, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * README "Tiers": settlement uses the tier the provider says it served, and an answer without a usage is charged its
 * whole hold (SPEC §6: a request the provider received is never free). A chat stream without a usage is billed at
 * the tier its chunks name; a JSON answer names it too, beside where its usage would be (`service_tier` on a chat
 * completion and on a response): a priority project's answer without a usage is billed at priority either way, not
 * at half of what OpenAI bills it when it comes as JSON.
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

const chat = async (user: string, stream: boolean) => {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, stream, messages: [{ role: 'user', content: 'Write a lot about words.' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('a chat answer stamped service_tier "priority" without a usage', () => {
  test('as JSON it is charged at priority, as the same answer streamed is', async () => {
    upstream.answer(() =>
      new Response(
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', service_tier: 'priority', choices: [{ index: 0, delta: { role: 'assistant', content: TEXT }, finish_reason: null }] }) +
          openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', service_tier: 'priority', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
          openAIEvent('[DONE]'),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
    )
    const streamed = await chat('json-tier-chat-stream', true)
    upstream.answer(() =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: 'm', service_tier: 'priority',
        choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }],
      }),
    )
    const json = await chat('json-tier-chat-json', false)
    expect(streamed.cost).toBeGreaterThan(0)
    // Both are the whole hold's tokens; OpenAI billed both at 2×.
    expect(json.prompt_tokens).toBe(streamed.prompt_tokens)
    expect(json.cost).toBe(streamed.cost)
  })
})

describe('a response stamped service_tier "priority" without a usage', () => {
  const respond = async (user: string, tier: string) => {
    upstream.answer(() =>
      jsonResponse({
        id: `resp_${user}`, object: 'response', status: 'completed', model: 'm', service_tier: tier,
        output: [{ type: 'message', id: `msg_${user}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: TEXT, annotations: [] }] }],
      }),
    )
    const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
    return settledRow(gw, user, async () => {
      const res = await postResponses(gw, secret, { model: 'plain:m', max_output_tokens: 4_000, input: 'Write a lot about words.' })
      expect(res.status).toBe(200)
      await res.text()
    })
  }

  test('is charged its whole hold at priority: twice the same answer stamped default', async () => {
    const plain = await respond('json-tier-resp-default', 'default')
    const priority = await respond('json-tier-resp-priority', 'priority')
    expect(plain.cost).toBeGreaterThan(0)
    expect(priority.prompt_tokens).toBe(plain.prompt_tokens)
    expect(priority.cost).toBe(plain.cost * 2)
  })
})
