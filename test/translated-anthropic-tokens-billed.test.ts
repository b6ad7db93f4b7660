import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A chat or Responses client of an Anthropic provider must be told the counts the gateway bills it, as a client of a
 * chat server through the other translations is (test/translated-output-tokens-billed.test.ts). The translators
 * read Anthropic's usage their own way:
 * - streamed, they kept the largest output count stated, `message_start`'s included. Anthropic states
 *   `output_tokens: 1` there before any output (the meter ignores it); a `message_delta` stating 0 (a server that
 *   does not count, an answer of nothing) left the client told 1 output token where the ledger billed 0;
 * - they read only the top-level counts, where the ledger bills each kind as the larger of it and its sum over the
 *   usage's `iterations` (server-side compaction's pass, counted only there): the client was told 5 output tokens
 *   of a request billed 45.
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let openai: OpenAI
let stop: () => Promise<void>
const USER = 'translated-anthropic-counts'
beforeAll(async () => {
  let secret: string
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(() => stop())

const started = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } }

/** A stream whose `message_delta` states `usage`, after the text given (none: an empty answer). */
const streamStating = (usage: Record<string, unknown>, text = '') => () =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: started }),
    ...(text
      ? [
          anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
          anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
          anthropicEvent({ type: 'content_block_stop', index: 0 }),
        ]
      : []),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage }),
    anthropicEvent({ type: 'message_stop' }),
  ])

/** Server-side compaction: its pass is counted only in `iterations`, which the ledger bills (20 + 30 in, 5 + 40 out). */
const COMPACTED = {
  input_tokens: 20,
  output_tokens: 5,
  iterations: [
    { type: 'compaction', input_tokens: 30, output_tokens: 40 },
    { type: 'message', input_tokens: 20, output_tokens: 5 },
  ],
}
const compactedMessage = () =>
  jsonResponse({ ...started, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: COMPACTED })

/**
 * Streamed answers, what of the counts told is compared, and with what: the row's counts, unless `told` says.
 * A usage of 0 output beside text is no usage: the stream pays its hold, and its row counts the tokens the hold
 * priced (100 out), which the translator, done before settlement, cannot know; it tells the provider's 0, never
 * message_start's 1 (what it told before).
 */
const STREAMED: Record<string, { script: () => Response; compared: (t: Told) => Partial<Told>; told?: Partial<Told> }> = {
  'an empty answer whose message_delta states 0 output': { script: streamStating({ output_tokens: 0 }), compared: (t) => t },
  "a server's zeros beside its text (the stream pays its hold)": {
    script: streamStating({ output_tokens: 0 }, 'The quick brown fox jumps over the lazy dog.'),
    compared: ({ output }) => ({ output }),
    told: { output: 0 },
  },
  'a compacted answer (its iterations in message_delta)': { script: streamStating(COMPACTED, 'ok'), compared: (t) => t },
}

interface Told {
  prompt: number
  output: number
}

/** What the client was told, beside the counts of the row the request settled. */
async function toldAndBilled(ask: () => Promise<Told>) {
  let told: Told | undefined
  await settledRow(gw, USER, async () => {
    told = await ask()
  })
  const row = gw.query<{ prompt_tokens: number; completion_tokens: number }>('SELECT prompt_tokens, completion_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!
  return { told, billed: { prompt: row.prompt_tokens, output: row.completion_tokens } }
}

const chatStreamed = async (): Promise<Told> => {
  const stream = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 100, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] })
  let usage: OpenAI.CompletionUsage | undefined
  for await (const chunk of stream) usage = chunk.usage ?? usage
  return { prompt: usage!.prompt_tokens, output: usage!.completion_tokens }
}

const responsesStreamed = async (): Promise<Told> => {
  const { usage } = await openai.responses.stream({ model: 'ant:m', max_output_tokens: 100, store: false, input: 'hi' }).finalResponse()
  return { prompt: usage!.input_tokens, output: usage!.output_tokens }
}

describe('a chat client of an Anthropic provider is told the tokens the ledger bills', () => {
  for (const [answer, { script, compared, told: expected }] of Object.entries(STREAMED))
    test(`streamed: ${answer}`, async () => {
      upstream.answer(script)
      const { told, billed } = await toldAndBilled(chatStreamed)
      expect(compared(told!)).toEqual(expected ?? compared(billed))
    })

  test('JSON: a compacted answer', async () => {
    upstream.answer(compactedMessage)
    const { told, billed } = await toldAndBilled(async () => {
      const { usage } = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      return { prompt: usage!.prompt_tokens, output: usage!.completion_tokens }
    })
    expect({ told, billed }).toEqual({ told: { prompt: 50, output: 45 }, billed: { prompt: 50, output: 45 } })
  })
})

describe('a Responses client of an Anthropic provider is told the tokens the ledger bills', () => {
  for (const [answer, { script, compared, told: expected }] of Object.entries(STREAMED))
    test(`streamed: ${answer}`, async () => {
      upstream.answer(script)
      const { told, billed } = await toldAndBilled(responsesStreamed)
      expect(compared(told!)).toEqual(expected ?? compared(billed))
    })

  test('JSON: a compacted answer', async () => {
    upstream.answer(compactedMessage)
    const { told, billed } = await toldAndBilled(async () => {
      const { usage } = await openai.responses.create({ model: 'ant:m', max_output_tokens: 100, store: false, input: 'hi' })
      return { prompt: usage!.input_tokens, output: usage!.output_tokens }
    })
    expect({ told, billed }).toEqual({ told: { prompt: 50, output: 45 }, billed: { prompt: 50, output: 45 } })
  })
})
