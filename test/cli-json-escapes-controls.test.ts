/**
 * `--json` prints the API's answer (README: "the API's JSON with --json") by the CLI's rule for the terminal, as its
 * tables do (src/cli/table.ts `printable`): JSON.stringify escapes only U+0000–U+001F, so a bidi override (U+202E),
 * a line separator (U+2028) and the C1 controls (U+0080–U+009F: U+009B is CSI, U+009D OSC to a terminal that reads
 * 8-bit controls) in a name a key holder chose would reach the operator's terminal raw. A key holder asks for
 * `mock:x<U+202E>…<U+2028>…` (402, recorded as unpriced); a name with C1 controls recorded before such names were
 * refused (as test/cli-escape.test.ts records one) goes the same way. The JSON parsed is still the API's answer.
 */
import { expect, test } from 'bun:test'
import { printableJson } from '../src/cli/table'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const BIDI = 'mock:x\u202edegnahcnu\u2028mock:gpt-mock  unchanged'
const C1 = 'mock:y\u009b2J\u009b1;1H\u009d0;pwned\u009c'

const rawControls = (out: string) =>
  [...out].filter((c) => /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(c) && c !== '\n').map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`)

test('prices catalog --json writes no raw bidi, line-separator or C1 character of a name a key holder chose', async () => {
  const { secret } = await gw.userWithKey({ id: 'json-spoofer', max_budget: 1 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: BIDI, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(402)
  gw.exec('INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?, 1, ?, ?)', C1, Date.now(), Date.now())
  await Bun.sleep(300)

  const out = await tollgateOutput(gw.url, ['prices', 'catalog', '--json'])
  // The names reached the CLI as the API answered them (the check below is not vacuous)...
  const parsed = JSON.stringify(JSON.parse(out))
  expect(parsed.includes(BIDI) && parsed.includes(C1)).toBe(true)
  // ...but its text carries none of their characters raw.
  expect(rawControls(out)).toEqual([])
})

test('a format character past U+FFFF is written as JSON spells it, a surrogate pair of escapes', () => {
  const value = { name: 'a\u{e0041}b\u0085', list: ['\u2029'] }
  const out = printableJson(value)
  expect(out).toContain('"a\\udb40\\udc41b\\u0085"')
  expect(rawControls(out)).toEqual([])
  expect(JSON.parse(out)).toEqual(value)
})
