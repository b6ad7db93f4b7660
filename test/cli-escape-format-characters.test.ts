/**
 * The CLI writes values key holders chose (a model name they asked for) to the operator's terminal. Beside
 * control characters, Unicode format characters must not reach it raw: a bidi override or isolate (U+202A–202E,
 * U+2066–2069, the Trojan-Source characters) makes a bidi-aware terminal (VTE/GNOME Terminal, Konsole, mlterm)
 * show the rest of the line reordered, so a key holder's model name would rewrite how the operator's row reads;
 * U+2028/2029 break the line in some. A key holder asks for `mock:<U+202E>…` (refused for lack of a price, so
 * recorded among the unpriced models) and `tollgate prices catalog` prints it escaped.
 */
import { expect, test } from 'bun:test'
import { printable } from '../src/cli/table'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test('a bidi override in a model a key holder asked for is escaped in the table', async () => {
  const { secret } = await gw.userWithKey({ id: 'spoofer', max_budget: 1 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:x\u202edegnahcnu', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(402)
  await Bun.sleep(300)

  const json = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--json']))
  expect(json.models.some((m: any) => m.model.includes('\u202e'))).toBe(true) // the name reached the CLI
  const table = await tollgateOutput(gw.url, ['prices', 'catalog'])
  expect(table).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/)
  expect(table).toContain('mock:x\\u202edegnahcnu')
})

test('every format character and the line and paragraph separators are escaped; other text is kept', () => {
  expect(printable('a\u202ab\u202ec\u2066d\u2069e')).toBe('a\\u202ab\\u202ec\\u2066d\\u2069e')
  expect(printable('\u200e\u200f\u200b\u00ad\ufeff')).toBe('\\u200e\\u200f\\u200b\\u00ad\\ufeff')
  expect(printable('line\u2028para\u2029')).toBe('line\\u2028para\\u2029')
  // Tag characters (past U+FFFF) spell hidden text: escaped whole, not as half a surrogate pair.
  expect(printable('m\u{e0041}\u{e0042}')).toBe('m\\u{e0041}\\u{e0042}')
  expect(printable('\u001b[2J\u0085')).toBe('\\u001b[2J\\u0085')
  expect(printable('gpt-4o é 日本 🙂')).toBe('gpt-4o é 日本 🙂')
})
