import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * A Responses stream whose output reaches the client only in whole forms, with no deltas: the `.done` events
 * (`response.output_text.done`, `response.function_call_arguments.done`), a `response.content_part.added` carrying
 * its text, a function call item given whole (its `arguments` in `response.output_item.added` / `.done`), a
 * reasoning item whose `encrypted_content` comes only in `response.output_item.done`. The official SDK shows all of
 * them (its accumulator takes the text / arguments from those events). When the stream then ends before
 * `response.completed` (no usage), it pays as a cut stream: the output delivered counted, not released at $0 as one
 * that ended before any output (SPEC §6: only an upstream error before any output is released). Before, the meter
 * counted output only from `.delta` events and the text of whole message items: 0 µ$.
 * plain:m costs 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let openai: OpenAI

const USER = 'responses-whole-forms'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(() => stop())

let seq = 0
const ev = (d: Record<string, unknown>) => `event: ${d.type}\ndata: ${JSON.stringify({ ...d, sequence_number: seq++ })}\n\n`
const created = () => ev({ type: 'response.created', response: { id: 'resp_bz', object: 'response', status: 'in_progress', model: 'm', output: [], usage: null } })

const TEXT = 'The whole answer, sent only in the done event. '.repeat(40) // 1,880 bytes
const ARGS = JSON.stringify({ query: 'x'.repeat(1_500) }) // 1,513 bytes

/** Streams the request through the official SDK's ResponseStream; returns what its snapshot shows and the usage row. */
async function throughSdk(events: () => string[]) {
  seq = 0
  upstream.answer(() => sseResponse(events()))
  let shown = ''
  let error: unknown
  const row = await settledRow(gw, USER, async () => {
    const stream = openai.responses.stream({ model: 'plain:m', input: 'hi', store: false, max_output_tokens: 4_000 })
    stream.on('response.output_text.done', (e) => (shown += e.text))
    stream.on('response.function_call_arguments.done', (e) => (shown += e.arguments))
    stream.on('response.output_item.added', (e) => {
      if (e.item.type === 'function_call') shown += e.item.arguments
    })
    stream.on('response.content_part.added', (e) => {
      if (e.part.type === 'output_text') shown += e.part.text
    })
    try {
      await stream.finalResponse()
    } catch (e) {
      error = e
    }
  })
  return { shown, error, row }
}

test('output_text.done only (no deltas), then the stream ends before response.completed: charged, not released at $0', async () => {
  const message = { type: 'message', id: 'msg_1', role: 'assistant', status: 'in_progress', content: [] }
  const { shown, error, row } = await throughSdk(() => [
    created(),
    ev({ type: 'response.output_item.added', output_index: 0, item: message }),
    ev({ type: 'response.content_part.added', output_index: 0, item_id: 'msg_1', content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    ev({ type: 'response.output_text.done', output_index: 0, item_id: 'msg_1', content_index: 0, text: TEXT, logprobs: [] }),
  ])
  expect(shown).toBe(TEXT) // the client's SDK got the text
  expect(error).toBeDefined() // and then the gateway's "ended before it finished" error
  expect(row.status).toBe('error')
  // A stream cut after output pays at least its delivered output (2 µ$ a byte here). Before a fix: 0.
  expect(row.cost).toBeGreaterThanOrEqual(2 * Buffer.byteLength(TEXT))
})

test('content_part.added carrying its text, then the stream ends: charged, not released at $0', async () => {
  const message = { type: 'message', id: 'msg_2', role: 'assistant', status: 'in_progress', content: [] }
  const { shown, row } = await throughSdk(() => [
    created(),
    ev({ type: 'response.output_item.added', output_index: 0, item: message }),
    ev({ type: 'response.content_part.added', output_index: 0, item_id: 'msg_2', content_index: 0, part: { type: 'output_text', text: TEXT, annotations: [] } }),
  ])
  expect(shown).toBe(TEXT)
  expect(row.cost).toBeGreaterThanOrEqual(2 * Buffer.byteLength(TEXT))
})

test('function_call_arguments.done only (no argument deltas), then the stream ends: charged, not released at $0', async () => {
  const call = { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'search', arguments: '', status: 'in_progress' }
  const { shown, row } = await throughSdk(() => [
    created(),
    ev({ type: 'response.output_item.added', output_index: 0, item: call }),
    ev({ type: 'response.function_call_arguments.done', output_index: 0, item_id: 'fc_1', arguments: ARGS }),
  ])
  expect(shown).toBe(ARGS)
  expect(row.cost).toBeGreaterThanOrEqual(2 * Buffer.byteLength(ARGS))
})

test('a function call item given whole (arguments in output_item.added, no deltas), then the stream ends: charged, not released at $0', async () => {
  const call = { type: 'function_call', id: 'fc_2', call_id: 'call_2', name: 'search', arguments: ARGS, status: 'completed' }
  const { shown, row } = await throughSdk(() => [
    created(),
    ev({ type: 'response.output_item.added', output_index: 0, item: call }),
    ev({ type: 'response.output_item.done', output_index: 0, item: call }),
  ])
  expect(shown).toBe(ARGS)
  expect(row.cost).toBeGreaterThanOrEqual(2 * Buffer.byteLength(ARGS))
})

test('a reasoning item delivered with its encrypted_content only (no summary), then the stream ends: charged, not released at $0', async () => {
  // Codex CLI asks `include: ["reasoning.encrypted_content"]`: the reasoning arrives whole in output_item.done.
  const ENCRYPTED = 'gAAAAABo' + 'Zm9vYmFy'.repeat(500) // 4,008 bytes
  const reasoning = (encrypted: string | null) => ({ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: encrypted })
  let shownReasoning = ''
  seq = 0
  upstream.answer(() =>
    sseResponse([
      created(),
      ev({ type: 'response.output_item.added', output_index: 0, item: reasoning(null) }),
      ev({ type: 'response.output_item.done', output_index: 0, item: reasoning(ENCRYPTED) }),
    ]),
  )
  const row = await settledRow(gw, USER, async () => {
    const stream = openai.responses.stream({ model: 'plain:m', input: 'hi', store: false, max_output_tokens: 4_000, include: ['reasoning.encrypted_content'] })
    stream.on('response.output_item.done', (e) => {
      if (e.item.type === 'reasoning') shownReasoning = e.item.encrypted_content ?? ''
    })
    await stream.finalResponse().catch(() => {})
  })
  expect(shownReasoning).toBe(ENCRYPTED) // the client got the reasoning the provider generated (and bills as output)
  expect(row.status).toBe('error')
  // Before a fix: 0 µ$ (a stream "ended before any output").
  expect(row.cost).toBeGreaterThan(0)
})
