import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * A second `message_start` (a proxy replaying or restarting the message) with smaller counts shrinks none of the
 * usage already stated: each count is the largest any event stated, as for `message_delta` (anthropic-stream.ts).
 * The SDK's raw event stream (`messages.create({ stream: true })`) passes both starts to the client. Before,
 * `UsageAccumulator.start` replaced the whole accumulated usage, input side included, and kept `hasOutput` from
 * the earlier `message_delta`: a provider stating 5,000 input tokens, then a start stating 1, billed 1 (5 µ$).
 * ant:m: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

const USER = 'anthropic-second-start'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const messageStart = (usage: Record<string, unknown>) =>
  anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage } })
const messageDelta = (usage: Record<string, unknown>) => anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage })

test('a second message_start with a smaller input count does not shrink the input the provider stated', async () => {
  upstream.answer(() =>
    sseResponse([
      messageStart({ input_tokens: 5_000, output_tokens: 1 }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      messageDelta({ output_tokens: 2 }),
      messageStart({ input_tokens: 1, output_tokens: 1 }),
      messageDelta({ output_tokens: 2 }),
      anthropicEvent({ type: 'message_stop' }),
    ]),
  )
  const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
  const types: string[] = []
  const row = await settledRow(gw, USER, async () => {
    const stream = await anthropic.messages.create({ model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x'.repeat(20_000) }] })
    for await (const event of stream) types.push(event.type)
  })
  expect(types.filter((t) => t === 'message_start')).toHaveLength(2)
  expect(row.status).toBe('ok')
  // The provider stated 5,000 input tokens (5,000 µ$) and 2 output tokens. Before a fix: 1 + 4 = 5 µ$.
  expect(row.cost).toBeGreaterThanOrEqual(5_000 + 2 * 2)
})
