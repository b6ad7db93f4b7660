/**
 * SPEC: a provider's error text is "summarised, never forwarded with credentials". README (Security model) cites
 * PHP's `htmlentities(…, ENT_HTML5)` as the spelling redaction must see through. That function writes every
 * character that has an HTML5 name by its name, non-ASCII letters included (`ü` → `&uuml;`, `ß` → `&szlig;`).
 * Redaction already treats such a character as one it must look for in every spelling (`&#252;`, `&#xFC;`,
 * `%C3%BC`, `\u00fc` are all found), and by its name too now: a `base_url` password holding one once reached the
 * client whole when a PHP proxy's error page quoted it, the page decoder leaving `&uuml;` as written.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { summariseUpstreamText } from '../src/providers/upstream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const PASSWORD = 'Schlüssel-Größe-7Kq2Vx9'
/** As PHP's htmlentities($text, ENT_QUOTES | ENT_HTML5) writes it. */
const phpEntities = (text: string) => text.replaceAll('ü', '&uuml;').replaceAll('ö', '&ouml;').replaceAll('ß', '&szlig;')
/** What a client's HTML decoder reads back. */
const decodeHtml = (text: string) => text.replaceAll('&uuml;', 'ü').replaceAll('&ouml;', 'ö').replaceAll('&szlig;', 'ß')

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const base = new URL(`${upstream.url}/v1`)
  base.username = 'proxyuser'
  base.password = encodeURIComponent(PASSWORD)
  gw = await startTestGateway({
    config: {
      providers: { px: { type: 'anthropic', base_url: base.toString(), api_key: 'sk-ant-unused-0123456789abcdef' } },
      pricing: { 'px:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'named-letters', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

test("a base_url password quoted by a PHP proxy's error page with HTML5 names of its letters does not reach the client", async () => {
  upstream.answer(
    () =>
      new Response(`<html><body><p>proxy password ${phpEntities(PASSWORD)} rejected</p></body></html>`, {
        status: 400,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
  )
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'px:m', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(upstream.calls.length).toBe(1)
  const message = ((await res.json()) as any).error.message as string
  expect(decodeHtml(message)).not.toContain(PASSWORD)
})

test('the same character spelt by number is found, by name it is not (JSON message)', () => {
  const provider = { type: 'openai' as const, base_url: 'https://proxy.example/v1', api_key: 'sk-unused-0123456789abcdef', headers: { 'X-Proxy-Token': PASSWORD } }
  const said = (spelt: string) => summariseUpstreamText(400, JSON.stringify({ error: { message: `token ${spelt} refused` } }), provider as any, 'application/json')
  // Numeric references of the very same characters are redacted today.
  expect(said(PASSWORD.replaceAll('ü', '&#252;').replaceAll('ö', '&#246;').replaceAll('ß', '&#223;'))).toContain('[redacted]')
  const byName = said(phpEntities(PASSWORD))
  expect(decodeHtml(byName)).not.toContain(PASSWORD)
})
