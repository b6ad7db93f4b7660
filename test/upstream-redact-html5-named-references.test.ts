/**
 * README (Security model): a provider credential in an error text is found "however the text spells its
 * characters other than letters and digits ... as an HTML character reference". PHP's
 * `htmlentities($text, ENT_QUOTES | ENT_HTML5)` (the usual way a PHP proxy renders its error page) writes `+` as
 * `&plus;` and `/` as `&sol;`: HTML5 named character references every browser and HTML decoder reads back. Redaction
 * knew only the names of `& < > " '` and the no-break space, so a proxy token spelt with `&plus;`/`&sol;` reached
 * the client whole. Every printable ASCII character other than a letter or a digit that has an HTML5 name is
 * covered, in the spellings looked for and in the decoding of a page's text.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { summariseUpstreamText } from '../src/providers/upstream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const PROXY_TOKEN = 'pX7+Qm2rT9/vK4+wZ8nB3yL6cF1hJ5dG'
/** As PHP's htmlentities(…, ENT_HTML5) writes it. */
const php5Escaped = (text: string) => text.replaceAll('+', '&plus;').replaceAll('/', '&sol;')

/**
 * WHATWG's named character references of printable ASCII punctuation, written out here, not taken from the
 * gateway's table. The space, `-` and `~` have none (`&hyphen;` is U+2010, `&tilde;` U+02DC).
 */
const HTML5_NAMES: Record<string, string[]> = {
  '!': ['excl'], '"': ['quot', 'QUOT'], '#': ['num'], $: ['dollar'], '%': ['percnt'], '&': ['amp', 'AMP'], "'": ['apos'],
  '(': ['lpar'], ')': ['rpar'], '*': ['ast', 'midast'], '+': ['plus'], ',': ['comma'], '.': ['period'], '/': ['sol'],
  ':': ['colon'], ';': ['semi'], '<': ['lt', 'LT'], '=': ['equals'], '>': ['gt', 'GT'], '?': ['quest'], '@': ['commat'],
  '[': ['lsqb', 'lbrack'], '\\': ['bsol'], ']': ['rsqb', 'rbrack'], '^': ['Hat'], _: ['lowbar', 'UnderBar'],
  '`': ['grave', 'DiacriticalGrave'], '{': ['lcub', 'lbrace'], '|': ['verbar', 'vert', 'VerticalLine'], '}': ['rcub', 'rbrace'],
}
/** Each name with its character, to decode what the gateway returns as a client's HTML decoder would. */
const decodeHtml5 = (text: string) =>
  text.replace(/&([A-Za-z]+);/g, (ref, name: string) => Object.entries(HTML5_NAMES).find(([, names]) => names.includes(name))?.[0] ?? ref)

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: { px: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-encoded-0123456789abcdefABCDEF', headers: { 'X-Proxy-Token': PROXY_TOKEN } } },
      pricing: { 'px:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'html5-refs', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const chatErrorMessage = async () => {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'px:m', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(400)
  return ((await res.json()) as any).error.message as string
}

test('a credential echoed with HTML5 named references (&plus; &sol;) in a 400 error page does not reach the client', async () => {
  upstream.answer(
    () =>
      new Response(`<!doctype html><html><body><h1>Bad Request</h1><p>proxy token ${php5Escaped(PROXY_TOKEN)} is not allowed</p></body></html>`, {
        status: 400,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
  )
  const message = await chatErrorMessage()
  expect(decodeHtml5(message)).not.toContain(PROXY_TOKEN)
  expect(message).toContain('[redacted]')
})

test('likewise in a JSON error message (a proxy quoting the header it refused, HTML-escaped)', async () => {
  upstream.answer(() => Response.json({ error: { message: `header X-Proxy-Token ${php5Escaped(PROXY_TOKEN)} refused` } }, { status: 400 }))
  const message = await chatErrorMessage()
  expect(decodeHtml5(message)).not.toContain(PROXY_TOKEN)
  expect(message).toContain('[redacted]')
})

// A secret holding every punctuation character with a name, between runs of letters and digits.
const EVERY_PUNCTUATION = 'Zq7' + Object.keys(HTML5_NAMES).join('Wk4') + 'Pm9'
const PROVIDER = { type: 'openai' as const, base_url: 'https://proxy.example/v1', api_key: 'sk-unused-0123456789abcdef', headers: { 'X-Proxy-Token': EVERY_PUNCTUATION } }
const spelt = (name: (char: string, names: string[]) => string) => EVERY_PUNCTUATION.replace(/[^A-Za-z0-9]/g, (c) => name(c, HTML5_NAMES[c]!))

for (const pick of ['first', 'last'] as const) {
  test(`every punctuation character spelt by its ${pick} HTML5 name is found, in JSON and in a page`, () => {
    const text = spelt((_, names) => `&${pick === 'first' ? names[0] : names.at(-1)};`)
    const json = summariseUpstreamText(400, JSON.stringify({ error: { message: `token ${text} refused` } }), PROVIDER, 'application/json')
    const page = summariseUpstreamText(502, `<html><body><p>token ${text} refused</p></body></html>`, PROVIDER, 'text/html')
    for (const summary of [json, page]) {
      expect(decodeHtml5(summary)).not.toContain(EVERY_PUNCTUATION)
      expect(summary).toContain('[redacted]')
    }
  })
}

test("a page's text decodes every HTML5 name of punctuation, and leaves a name for something else as written", () => {
  const excerpt = (html: string) => summariseUpstreamText(502, `<p>${html}</p>`, PROVIDER, 'text/html').split(': ')[1]
  const decoded = Object.entries(HTML5_NAMES).flatMap(([, names]) => names.map((name) => [name, excerpt(`a&${name};b`)]))
  // `<` and `>` are shown as spaces, never as markup.
  const expected = Object.entries(HTML5_NAMES).flatMap(([char, names]) => names.map((name) => [name, `a${/[<>]/.test(char) ? ' ' : char}b`]))
  expect(Object.fromEntries(decoded)).toEqual(Object.fromEntries(expected))
  expect(excerpt('&tilde; &hyphen; &trade; &nosuchname;')).toBe('&tilde; &hyphen; &trade; &nosuchname;')
})
