import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Messages → OpenAI-compatible: an Anthropic `document` block carries, besides its source, a `title` and a
 * `context` the model reads ("document context … is passed to the model but not used towards cited content"),
 * and `citations: {enabled: true}`, which makes the answer cite passages of it. The translation keeps a text
 * document's data alone: its title and context never reach the model, and the citations the client asked for
 * are lost without a word — while the README says what the other format cannot carry is refused with a 400
 * naming the field, before any hold.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const completion = { id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } }

const post = (secret: string, document: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m',
      max_tokens: 20,
      messages: [{ role: 'user', content: [document, { type: 'text', text: 'What was revenue?' }] }],
    }),
  })

const textDoc = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Revenue was 12.' } }

test("a text document's title and context reach the model", async () => {
  upstream.answer(() => jsonResponse(completion))
  const { secret } = await gw.userWithKey({ id: 'dm-doc-context', max_budget: 10 })
  const res = await post(secret, { ...textDoc, title: 'Annual report 2019', context: 'All figures are in millions of EUR.' })
  expect(res.status).toBe(200)
  const sentText = JSON.stringify(upstream.calls[0]!.body.messages)
  expect(sentText).toContain('All figures are in millions of EUR.')
  expect(sentText).toContain('Annual report 2019')
})

test('a document asking for citations is refused naming them, before any call', async () => {
  upstream.answer(() => jsonResponse(completion))
  const { secret } = await gw.userWithKey({ id: 'dm-doc-citations', max_budget: 10 })
  const res = await post(secret, { ...textDoc, citations: { enabled: true } })
  const text = await res.text()
  expect({ status: res.status, namesCitations: text.includes('citations'), calls: upstream.calls.length }).toEqual({ status: 400, namesCitations: true, calls: 0 })
})
