/**
 * SPEC §8, the API request log keeps the "key id (never the key)". A client whose SDK was given the key as
 * part of its base URL (`http://gateway/v1/tg-…`, as some vendors' URLs carry a key) sends its secret in the
 * path: the request is refused 401, and the path goes to the request log (shown by GET /v1/audit) and to the
 * JSON log line on stdout with the key cut out (the query is never kept). The master key too, in any spelling
 * of the path: a URL parser percent-encodes characters a generated key may hold (`^ { } | \` " < >`), and the
 * logged path is the raw one, where such a key was once kept one decodeURIComponent from whole.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { withoutKeys } from '../src/keys/secret'

let mock: MockProvider
let gw: TestGateway
const lines: string[] = []
const write = process.stdout.write.bind(process.stdout)

beforeAll(async () => {
  ;(process.stdout as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
    lines.push(String(chunk))
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest)
  }
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { log_level: 'info' } })
})
afterAll(async () => {
  ;(process.stdout as { write: unknown }).write = write
  await gw.stop()
  await mock.stop()
})

describe('a virtual key sent in the path', () => {
  test('is in neither the request log nor the log line', async () => {
    const { secret } = await gw.userWithKey({ id: 'f-path' })
    const res = await fetch(`${gw.url}/v1/${secret}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(401)
    await gw.settled()
    await Bun.sleep(50)
    const audit = JSON.stringify((await gw.admin('GET', '/v1/audit?limit=1000')).body)
    const stored = JSON.stringify(gw.query('SELECT * FROM api_request_log'))
    const logged = lines.join('')
    expect(logged).toContain('"status":401')
    expect({ audit: audit.includes(secret), stored: stored.includes(secret), logged: logged.includes(secret) }).toEqual({ audit: false, stored: false, logged: false })
  })
})

// A strong master key as a password generator makes it: symbols included (no whitespace, 36 characters).
const MASTER = 'Zq7^mW2{xK9}pL4|vB8nR3tY6hJ1cF5aD0eG'

describe('a master key with symbols sent in the path', () => {
  let symbols: TestGateway
  beforeAll(async () => {
    symbols = await startTestGateway({ config: { master_key: MASTER, log_level: 'info' } })
  })
  afterAll(async () => {
    await symbols?.stop()
  })

  test('is in neither the request log nor the log line, in any encoding', async () => {
    const res = await fetch(`${symbols.url}/v1/${MASTER}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x:y', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(401)
    // Reading the audit (master key in the header) flushes the request log.
    const auditRes = await fetch(`${symbols.url}/v1/audit?limit=1000`, { headers: { authorization: `Bearer ${MASTER}` } })
    expect(auditRes.status).toBe(200)
    await Bun.sleep(50)
    const audit = await auditRes.text()
    const stored = JSON.stringify(symbols.query('SELECT route FROM api_request_log')) + JSON.stringify(symbols.query('SELECT * FROM refusal_counts'))
    const logged = lines.join('')
    expect(logged).toContain('"status":401')
    const decoded = (text: string) => text.replace(/%[0-9A-Fa-f]{2}/g, (e) => String.fromCharCode(parseInt(e.slice(1), 16)))
    const holds = (text: string) => text.includes(MASTER) || decoded(text).includes(MASTER)
    expect({ audit: holds(audit), stored: holds(stored), logged: holds(logged) }).toEqual({ audit: false, stored: false, logged: false })
  })
})

describe('withoutKeys', () => {
  const everyCharacterEncoded = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')

  test('cuts the master key however its characters are escaped, and nothing else', () => {
    for (const spelled of [MASTER, encodeURIComponent(MASTER), new URL(`http://h/${MASTER}`).pathname.slice(1), everyCharacterEncoded(MASTER)])
      expect(withoutKeys(`/v1/${spelled}/chat%2Fcompletions%00%zz%`, [MASTER])).toBe('/v1/[redacted]/chat%2Fcompletions%00%zz%')
  })

  test('a key of other scripts, escaped as UTF-8', () => {
    const key = `${MASTER}é漢😀`
    expect(withoutKeys(`/v1/${encodeURIComponent(key)}/x`, [key])).toBe('/v1/[redacted]/x')
    expect(withoutKeys(`/v1/${key}/x`, [key])).toBe('/v1/[redacted]/x')
  })

  test('a master key holding `tg-` and 8 key characters is cut whole', () => {
    const key = `Zq7^mW2tg-abcdefghij{x}K9pL4|vB8nR3`
    expect(withoutKeys(`/v1/${key}/x`, [key])).toBe('/v1/[redacted]/x')
    expect(withoutKeys(`/v1/${encodeURIComponent(key)}/x`, [key])).toBe('/v1/[redacted]/x')
  })

  test('a path without the key, or without any escape, is left as it is', () => {
    expect(withoutKeys('/v1/chat/completions', [MASTER_KEY])).toBe('/v1/chat/completions')
    expect(withoutKeys('/v1/a%20b', [MASTER_KEY])).toBe('/v1/a%20b')
  })
})
