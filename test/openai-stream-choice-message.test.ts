import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * A chat chunk whose choice carries its text in `message` (a whole message, as some OpenAI-compatible servers
 * stream it) rather than in `delta`. The official SDK's ChatCompletionStream copies every field of a chunk's
 * choice but `delta`/`finish_reason`/`index`/`logprobs` onto its snapshot's choice, so `message.content` is what
 * the client is shown and what `finalChatCompletion()` holds. That text counts as delivered output: a stream the
 * provider then ends without usage pays as a cut one, not $0 as one that ended before any output (outcome.ts).
 * Before, the meter counted only `choice.delta`: 0 bytes delivered, 0 µ$.
 * plain:m: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

const USER = 'chat-choice-message'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const TEXT = 'The answer, streamed as a whole message. '.repeat(50) // 2,050 bytes

test('chat: text in choices[].message of a chunk, then the stream ends without usage: charged, not released at $0', async () => {
  upstream.answer(() =>
    sseResponse([openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: null }] })]),
  )
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  let shown = ''
  let error: unknown
  const row = await settledRow(gw, USER, async () => {
    const stream = openai.chat.completions.stream({ model: 'plain:m', max_tokens: 4_000, messages: [{ role: 'user', content: 'hi' }] })
    stream.on('chunk', (_chunk, snapshot) => (shown = String(snapshot.choices[0]?.message.content ?? '')))
    await stream.finalChatCompletion().catch((e) => (error = e))
  })
  expect(shown).toBe(TEXT) // the client's SDK shows the text
  expect(error).toBeDefined() // then the gateway's "ended before it finished" error
  expect(row.status).toBe('error')
  // Before a fix: 0 µ$.
  expect(row.cost).toBeGreaterThanOrEqual(2 * Buffer.byteLength(TEXT))
})
