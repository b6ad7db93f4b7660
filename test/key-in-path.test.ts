/**
 * SPEC §8, the API request log keeps the "key id (never the key)". A client whose SDK was given the key as
 * part of its base URL (`http://gateway/v1/tg-…`, as some vendors' URLs carry a key) sends its secret in the
 * path: the request is refused 401, and the path goes to the request log (shown by GET /v1/audit) and to the
 * JSON log line on stdout with the key cut out (the query is never kept).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

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
