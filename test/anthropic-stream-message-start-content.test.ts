import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * A native Anthropic stream (`/v1/messages`, bytes passed through) with text in `message_start`'s
 * `message.content`: the official SDK's MessageStream takes that message as its snapshot (`#accumulateMessage`
 * returns `event.message`), so `currentMessage` and every `streamEvent` snapshot carry the text. That text counts
 * as delivered output: when the stream then ends before `message_stop` with no `message_delta` usage, it pays as a
 * cut stream, not $0 as one the provider ended before any output (outcome.ts). Before, the meter read only
 * `message.usage` from `message_start`: 0 bytes delivered, 0 µ$.
 * ant:m costs 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let anthropic: Anthropic

const USER = 'anthropic-start-content'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
})
afterAll(() => stop())

const TEXT = 'Text the provider put in message_start. '.repeat(50) // 2,000 bytes

test('text in message_start.message.content, then the stream ends before message_stop: charged, not released at $0', async () => {
  upstream.answer(() =>
    sseResponse([
      anthropicEvent({
        type: 'message_start',
        message: { id: 'msg_bz', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: TEXT }], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
      }),
    ]),
  )
  let shown = ''
  let error: unknown
  const row = await settledRow(gw, USER, async () => {
    const stream = anthropic.messages.stream({ model: 'ant:m', max_tokens: 4_000, messages: [{ role: 'user', content: 'hi' }] })
    stream.on('streamEvent', (_event, snapshot) => {
      const block = snapshot.content[0]
      if (block?.type === 'text') shown = block.text
    })
    try {
      await stream.finalMessage()
    } catch (e) {
      error = e
    }
  })
  expect(shown).toBe(TEXT) // the client's SDK shows the text
  expect(error).toBeDefined() // then the gateway's "ended before it finished" error
  expect(row.status).toBe('error')
  // A stream cut after output pays at least the output it delivered (2 µ$ a byte here). Before a fix: 0.
  expect(row.cost).toBeGreaterThanOrEqual(2 * Buffer.byteLength(TEXT))
})
