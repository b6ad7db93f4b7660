import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import type { TestGateway } from './support/gateway'
import { blankPdf } from './support/pdf'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Messages → OpenAI-compatible: an Anthropic `document` block carries, besides its source, a `title` and a
 * `context` the model reads ("document context … is passed to the model but not used towards cited content"),
 * and `citations: {enabled: true}`, which makes the answer cite passages of it. The translation kept a text
 * document's data alone: its title and context never reached the model, and the citations the client asked for
 * were lost without a word — while the README says what the other format cannot carry is refused with a 400
 * naming the field, before any hold. Title and context now go as a text part before the document; the hold,
 * taken on the larger of the request as sent and as translated, covers that text.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const completion = { id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } }
const BUDGET = 10
const MAX_TOKENS = 20

async function post(user: string, document: Record<string, unknown>) {
  upstream.answer(() => jsonResponse(completion))
  const { secret } = await gw.userWithKey({ id: user, max_budget: BUDGET })
  return fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m',
      max_tokens: MAX_TOKENS,
      messages: [{ role: 'user', content: [document, { type: 'text', text: 'What was revenue?' }] }],
    }),
  })
}

const textDoc = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Revenue was 12.' } }

test("a text document's title and context reach the model, in a text part before it, and the hold covers them", async () => {
  // Long enough that the note the translation writes weighs in the estimate.
  const context = 'All figures are in millions of EUR. '.repeat(200)
  const res = await post('doc-context', { ...textDoc, title: 'Annual report 2019', context })
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body
  expect(sent.messages[0].content).toEqual([
    { type: 'text', text: `Document title: Annual report 2019\nDocument context: ${context}` },
    { type: 'text', text: 'Revenue was 12.' },
    { type: 'text', text: 'What was revenue?' },
  ])
  // $1 / $2 per million: a token in is 1 µ$, a token out 2 µ$.
  const held = Math.round((BUDGET - Number(res.headers.get('x-budget-remaining'))) * 1e6)
  const translated = estimateChat(sent, { defaultMaxOutputTokens: MAX_TOKENS, mediaPartTokens: 0 })
  expect(held).toBeGreaterThanOrEqual(translated.inputTokens + 2 * translated.outputTokens)
})

test("a PDF document's context reaches the model before its file", async () => {
  const data = blankPdf(1).toString('base64')
  const res = await post('doc-pdf-context', { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data }, title: 'q3.pdf', context: 'Draft, unaudited.' })
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  const [note, file] = upstream.calls[0]!.body.messages[0].content
  expect(note).toEqual({ type: 'text', text: 'Document title: q3.pdf\nDocument context: Draft, unaudited.' })
  expect(file).toEqual({ type: 'file', file: { filename: 'q3.pdf', file_data: `data:application/pdf;base64,${data}` } })
})

test('a document asking for citations is refused naming them, before any call; citations turned off are served', async () => {
  const refused = await post('doc-citations', { ...textDoc, citations: { enabled: true } })
  const text = await refused.text()
  expect({ status: refused.status, namesCitations: text.includes('messages[0].content[0].citations'), calls: upstream.calls.length }).toEqual({ status: 400, namesCitations: true, calls: 0 })

  const served = await post('doc-citations-off', { ...textDoc, citations: { enabled: false } })
  await served.arrayBuffer()
  expect(served.status).toBe(200)
  expect(upstream.calls[0]!.body.messages[0].content[0]).toEqual({ type: 'text', text: 'Revenue was 12.' })
})
