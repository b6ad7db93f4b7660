/**
 * The second JSON text a Responses request carries into an Anthropic call: a `reasoning` item's `encrypted_content`,
 * the gateway's own carrier of a Claude thinking block (`tollgate-anthropic-thinking.v1:` + base64 of JSON), decoded
 * and parsed by `carriedThinking` (src/translate/responses/reasoning-carrier.ts). In the body it is one string, so
 * the body's value bound counts it once; 6 million `{}` in it (24 MB of base64) would be parsed before the hold. It
 * is held to the body's bounds before it is parsed: 400 `invalid_json`, the gateway under its memory ceiling.
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

test("a Responses reasoning item's carried thinking holding millions of JSON values is refused before it is parsed", async () => {
  const objects = 6_000_000
  const block = '{"type":"thinking","thinking":"t","signature":"s","x":[' + '{},'.repeat(objects - 1) + '{}]}'
  const encrypted = 'tollgate-anthropic-thinking.v1:' + Buffer.from(block, 'utf8').toString('base64')
  const body =
    '{"model":"mockant:claude-mock","max_output_tokens":16,"input":[{"role":"user","content":"hi"},' +
    '{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"' + encrypted + '"},' +
    '{"type":"message","role":"assistant","content":[{"type":"output_text","text":"hello"}]},{"role":"user","content":"go on"}]}'
  expect(body.length).toBeLessThan(26_214_400)
  const calls = mock.calls.length
  const memory = new PeakRss(gw.proc.pid)
  const answer = fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
  }).then(async (r) => [r.status, await r.text()] as const)
  const worst = await worstHoldDuring(gw.url, answer, gw.proc.pid)
  const { before, peak } = memory.stop()
  const [status, text] = await answer
  console.log(`${(body.length / 1e6).toFixed(0)} MB body, ${objects / 1e6}M {} in carried thinking: answered ${status} ${text.slice(0, 160)}; RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; ${worst}`)
  expect(status).toBe(400)
  expect(text).toContain('invalid_json')
  expect(mock.calls.length).toBe(calls)
  expect(peak).toBeLessThan(CEILING_MB)
}, 120_000)
