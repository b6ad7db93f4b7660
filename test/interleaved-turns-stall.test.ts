/**
 * Tool results interleaved with user (or mid-conversation developer/system) messages all merge into one Anthropic
 * user turn, its tool results ahead of its other blocks. Placing each tool result by a scan from the turn's start
 * made such a conversation O(n²) on the request thread, before the price check or the hold (80k pairs, 6.3 MB: 7 s
 * of a stalled /health, free to any key). `AnthropicTurns` keeps a turn's tool results apart until the turn closes.
 *
 * Checked: a body of that shape costs the thread about what a body of the same size and message count in an order
 * that merges linearly (all tool results, then all user messages) costs; not seconds more.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'

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

const post = (path: string, body: string) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  )

async function stallOf(path: string, body: string): Promise<number> {
  let status = 0
  const worst = await worstHealthDuring(gw.url, post(path, body).then((r) => (status = r.status)))
  expect(status).toBeGreaterThanOrEqual(400) // 402 pricing_required: refused, after the translation
  return worst
}

function chatBody(interleaved: boolean): string {
  const tool = '{"role":"tool","tool_call_id":"c","content":"x"}'
  // A mid-conversation developer message: an `<instructions>` block merged into the tool results' user turn.
  const user = '{"role":"developer","content":"x"}'
  const tail = interleaved ? Array(PAIRS).fill(`${tool},${user}`).join(',') : `${Array(PAIRS).fill(tool).join(',')},${Array(PAIRS).fill(user).join(',')}`
  return `{"model":"mockant:unpriced","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},${tail}]}`
}

function responsesBody(interleaved: boolean): string {
  const output = '{"type":"function_call_output","call_id":"c","output":"x"}'
  const user = '{"role":"user","content":"x"}'
  const tail = interleaved ? Array(PAIRS).fill(`${output},${user}`).join(',') : `${Array(PAIRS).fill(output).join(',')},${Array(PAIRS).fill(user).join(',')}`
  return `{"model":"mockant:unpriced","max_output_tokens":5,"store":false,"input":[{"role":"user","content":"q"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},${tail}]}`
}

test.each([
  ['/v1/chat/completions', chatBody],
  ['/v1/responses', responsesBody],
] as const)('%s → Anthropic: tool results interleaved with developer/user messages do not stall the thread for seconds', async (path, body) => {
  const crafted = body(true)
  const control = body(false)
  expect(crafted.length).toBe(control.length)
  expect(crafted.length).toBeLessThan(8_000_000) // a third of the default 25 MB body limit
  const linear = await stallOf(path, control)
  const quadratic = await stallOf(path, crafted)
  console.log(`${path}: ${(crafted.length / 1e6).toFixed(1)} MB; /health stalled ${linear.toFixed(0)} ms (linear order), ${quadratic.toFixed(0)} ms (interleaved)`)
  expect(quadratic).toBeLessThan(Math.max(1500, 3 * linear))
}, 120_000)
