/**
 * A chat request translated for an Anthropic provider parses a second JSON text out of the body: each history tool
 * call's `arguments` string (`historyToolInput`, src/translate/tool-arguments.ts). In the body it is one string
 * value, so the body's value bound counts it once; 8 million `{}` in it, parsed before the hold (a key with no money
 * sends it), grew the gateway to ~790 MB. It is held to the body's bounds before it is parsed: 400 `invalid_json`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { PeakRss } from './support/peak-rss'
import { quietThread, worstHoldDuring } from './support/request-thread-hold'

/**
 * Reading a 24 MB body alone peaks at 170–205 MB (its bytes, its text, the parsed body and its one long string:
 * a 24 MB argument of plain text, never scanned, peaked at 169 MB); the parse this guards against reached 720–790 MB.
 */
const CEILING_MB = 320

let mock: MockProvider
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({
    mock,
    config: {
      pricing: {
        'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
        'mockant:claude-mock': { input_per_million: 3, output_per_million: 15 },
      },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'penniless', max_budget: 0 }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test("a chat tool call's arguments holding millions of JSON values are refused before they are parsed for Anthropic", async () => {
  const objects = 8_000_000
  // The arguments are a JSON text inside a JSON string: its quotes escaped, its braces and commas plain.
  const args = '{\\"x\\":[' + '{},'.repeat(objects - 1) + '{}]}'
  const body =
    '{"model":"mockant:claude-mock","max_tokens":16,"messages":[{"role":"user","content":"hi"},' +
    '{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"' + args + '"}}]},' +
    '{"role":"tool","tool_call_id":"call_1","content":"ok"},{"role":"user","content":"go on"}]}'
  expect(body.length).toBeLessThan(26_214_400)
  const calls = mock.calls.length
  const memory = new PeakRss(gw.proc.pid)
  const answer = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
  }).then(async (r) => [r.status, await r.text()] as const)
  const worst = await worstHoldDuring(gw.url, answer, gw.proc.pid)
  const { before, peak } = memory.stop()
  const [status, text] = await answer
  console.log(`${(body.length / 1e6).toFixed(0)} MB body, ${objects / 1e6}M {} in one tool call's arguments: answered ${status} ${text.slice(0, 160)}; RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; ${worst}`)
  expect(status).toBe(400)
  expect(text).toContain('invalid_json')
  expect(mock.calls.length).toBe(calls)
  expect(peak).toBeLessThan(CEILING_MB)
}, 120_000)

test("many tool calls' arguments share one bound: each under it, together past it, they are refused", async () => {
  const perCall = 200_000
  const args = '{\\"x\\":[' + '{},'.repeat(perCall - 1) + '{}]}'
  const calls = [0, 1, 2].map((j) => `{"id":"call_${j}","type":"function","function":{"name":"f","arguments":"${args}"}}`)
  const results = [0, 1, 2].map((j) => `{"role":"tool","tool_call_id":"call_${j}","content":"ok"}`)
  const body =
    '{"model":"mockant:claude-mock","max_tokens":16,"messages":[{"role":"user","content":"hi"},' +
    `{"role":"assistant","content":null,"tool_calls":[${calls.join(',')}]},${results.join(',')},{"role":"user","content":"go on"}]}`
  const before = mock.calls.length
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
  })
  expect(res.status).toBe(400)
  const error = ((await res.json()) as any).error
  expect(error.code).toBe('invalid_json')
  expect(error.message).toContain('tool_calls[2].function.arguments')
  expect(mock.calls.length).toBe(before)
}, 60_000)
