import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openStream, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * "The ids the answer gives the client are written first: its next request may reach another replica"
 * (routes/responses.ts). A stream whose final event carries a usage but lists no output had the items it finished
 * in `response.output_item.done` recorded only at the stream's end, after the final event went out. The next turn,
 * store: false, naming the 200,000-token reasoning item by id (as the Agents SDK does), was then passed through
 * unheld (116 µ$), though the provider reads the item back in whole (SPEC §6): here by the same replica while the
 * provider's body is still open after its final event. Rates: 1 µ$ an input token, 2 µ$ an output token.
 */
const REASONING_TOKENS = 200_000
const USER = 'responses-stream-items-written-before-final'
let upstream: ScriptedUpstream
let a: TestGateway
let secret: string
beforeAll(async () => {
  upstream = startScriptedUpstream()
  const config = { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }
  a = await startTestGateway({ config })
  ;({ secret } = await a.userWithKey({ id: USER, max_budget: 10 }))
})
afterAll(async () => {
  await a.stop()
  await upstream.stop()
})

const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

const events = (name: string) => {
  const item = { id: `rs_${name}`, type: 'reasoning', summary: [] }
  const response = { id: `resp_${name}`, object: 'response', status: 'in_progress', usage: null }
  const usage = { input_tokens: 10, output_tokens: REASONING_TOKENS, total_tokens: REASONING_TOKENS + 10 }
  return {
    item,
    events: [
      { type: 'response.created', response: { ...response, output: [] } },
      { type: 'response.output_item.added', output_index: 0, item },
      { type: 'response.output_item.done', output_index: 0, item },
      { type: 'response.completed', response: { ...response, status: 'completed', output: [], usage } },
    ].map(event),
  }
}

/** The hold of the next turn, sent to `url`: the reasoning item by id alone, store: false. */
async function heldForNextTurn(url: string, item: object): Promise<number> {
  upstream.answer(() => jsonResponse({ id: 'resp_next', object: 'response', status: 'completed', output: [], usage: { input_tokens: REASONING_TOKENS + 20, output_tokens: 5 } }))
  const next = await post(url, { model: 'plain:m', store: false, max_output_tokens: 16, input: [item, { role: 'user', content: 'go on' }] })
  expect(next.status).toBe(200)
  await next.text()
  // Its settlement written (an admin read flushes that replica's write queue).
  await fetch(`${url}/v1/users?limit=1`, { headers: a.master })
  return a.query<{ reserved: number }>('SELECT reserved FROM usage WHERE prompt_tokens = ? ORDER BY id DESC LIMIT 1', REASONING_TOKENS + 20)[0]!.reserved
}

test('the same replica holds for it as soon as the client has the final event', async () => {
  const { item, events: stream } = events('open')
  // The provider's body stays open a moment after its final event.
  upstream.answer(openStream(stream))
  const first = await post(a.url, { model: 'plain:m', input: 'think hard', max_output_tokens: REASONING_TOKENS, stream: true })
  const reader = first.body!.getReader()
  let seen = ''
  while (!seen.includes('response.completed')) {
    const { value, done } = await reader.read()
    if (done) break
    seen += new TextDecoder().decode(value)
  }
  const held = await heldForNextTurn(a.url, item)
  await reader.cancel()
  expect(held).toBeGreaterThanOrEqual(REASONING_TOKENS)
})
