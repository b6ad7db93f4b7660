/**
 * Tool results interleaved with user (or mid-conversation developer/system) messages all merge into one Anthropic
 * user turn, its tool results ahead of its other blocks. Placing each tool result by a scan from the turn's start
 * made such a conversation O(n²) on the request thread, before the price check or the hold (80k pairs, 6.3 MB: 7 s
 * of a stalled /health, free to any key). `AnthropicTurns` keeps a turn's tool results apart until the turn closes.
 *
 * Checked: a body of that shape costs the thread about what a body of the same size and message count in an order
 * that merges linearly (all tool results, then all user messages) costs; not seconds more.
 *
 * A body of 80k pairs (400,000 object members) is now refused 400 `invalid_json` before it is parsed
 * (src/http/json-body.ts, MAX_JSON_MEMBERS = 100,000), so through the gateway it never reached the translation and
 * the stall measured nothing of it. The translation of 80k pairs is timed by itself; through the gateway, bodies of
 * 19,000 pairs (95,000 members) must be refused 402 pricing_required, which is decided after the translation.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  // No price for mockant:unpriced: the answer is a 402, after the translation; nothing is held or charged.
  gw = await startTestGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'rt-ft-stall', max_budget: 1 }))
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const PAIRS = 80_000
/** Pairs of five object members each: under the 100,000 members a body may hold, so the gateway parses it. */
const PAIRS_ACCEPTED = 19_000

const post = (path: string, body: string) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  )

async function stallOf(path: string, body: string): Promise<number> {
  let answer = { status: 0, code: null as string | null }
  const worst = await worstHealthDuring(
    gw.url,
    post(path, body).then((r) => (answer = { status: r.status, code: JSON.parse(r.text).error?.code ?? null })),
  )
  // Refused for want of a price, which is decided after the translation: the body was translated.
  expect(answer).toEqual({ status: 402, code: 'pricing_required' })
  return worst
}

function chatBody(interleaved: boolean, pairs: number): string {
  const tool = '{"role":"tool","tool_call_id":"c","content":"x"}'
  // A mid-conversation developer message: an `<instructions>` block merged into the tool results' user turn.
  const user = '{"role":"developer","content":"x"}'
  const tail = interleaved ? Array(pairs).fill(`${tool},${user}`).join(',') : `${Array(pairs).fill(tool).join(',')},${Array(pairs).fill(user).join(',')}`
  return `{"model":"mockant:unpriced","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},${tail}]}`
}

function responsesBody(interleaved: boolean, pairs: number): string {
  const output = '{"type":"function_call_output","call_id":"c","output":"x"}'
  const user = '{"role":"user","content":"x"}'
  const tail = interleaved ? Array(pairs).fill(`${output},${user}`).join(',') : `${Array(pairs).fill(output).join(',')},${Array(pairs).fill(user).join(',')}`
  return `{"model":"mockant:unpriced","max_output_tokens":5,"store":false,"input":[{"role":"user","content":"q"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},${tail}]}`
}

/** The request thread's time to translate `body` for Anthropic, in ms. */
function translationMs(path: string, body: string): number {
  const parsed = JSON.parse(body)
  const started = performance.now()
  if (path === '/v1/chat/completions') chatRequestToMessages(parsed, { defaultMaxOutputTokens: 4096 })
  else responsesRequestToMessages(parsed, { defaultMaxOutputTokens: 4096 })
  return performance.now() - started
}

test.each([
  ['/v1/chat/completions', chatBody],
  ['/v1/responses', responsesBody],
] as const)('%s → Anthropic: tool results interleaved with developer/user messages do not stall the thread for seconds', async (path, body) => {
  // The translation by itself, at the size that once stalled /health for 7 s.
  const crafted = body(true, PAIRS)
  const control = body(false, PAIRS)
  expect(crafted.length).toBe(control.length)
  expect(crafted.length).toBeLessThan(8_000_000) // a third of the default 25 MB body limit
  const linearMs = Math.min(translationMs(path, control), translationMs(path, control))
  const quadraticMs = Math.min(translationMs(path, crafted), translationMs(path, crafted))
  console.log(`${path}: translating ${(crafted.length / 1e6).toFixed(1)} MB took ${linearMs.toFixed(0)} ms (linear order), ${quadraticMs.toFixed(0)} ms (interleaved)`)
  expect(quadraticMs).toBeLessThan(Math.max(1000, 3 * linearMs))

  // Through the gateway, at a size it parses: translated (then refused 402), without stalling /health for seconds.
  const linear = await stallOf(path, body(false, PAIRS_ACCEPTED))
  const quadratic = await stallOf(path, body(true, PAIRS_ACCEPTED))
  console.log(`${path}: ${PAIRS_ACCEPTED} pairs through the gateway: /health stalled ${linear.toFixed(0)} ms (linear order), ${quadratic.toFixed(0)} ms (interleaved)`)
  expect(quadratic).toBeLessThan(Math.max(1500, 3 * linear))
}, 120_000)
