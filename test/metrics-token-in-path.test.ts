/**
 * SPEC §2: secrets are never logged. The metrics token (TOLLGATE_METRICS_TOKEN) is a secret the operator hands a
 * scraper instead of the master key. A scraper that sends it in its path (`metrics_path: /metrics/<token>`, as some
 * exporters take a token) is refused, and the path goes to the JSON log line and the API request log with the token
 * cut out, as the master key and virtual keys are (test/key-in-path.test.ts); it once went there as sent.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

const TOKEN = 'scrape-token-Zx81Qw77Lm02Vb55'
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
  gw = await startTestGateway({ mock, config: { log_level: 'info', metrics_enabled: true, metrics_token: TOKEN } })
})
afterAll(async () => {
  ;(process.stdout as { write: unknown }).write = write
  await gw.stop()
  await mock.stop()
})

test('a metrics token sent in the path is in neither the request log nor the log line', async () => {
  expect((await fetch(`${gw.url}/metrics/${TOKEN}`)).status).toBe(401)
  expect((await fetch(`${gw.url}/v1/${TOKEN}/models`)).status).toBe(401)
  await gw.settled()
  await Bun.sleep(50)
  const audit = JSON.stringify((await gw.admin('GET', '/v1/audit?limit=1000')).body)
  const stored = JSON.stringify(gw.query('SELECT * FROM api_request_log'))
  const logged = lines.join('')
  // The requests were logged (so the check below is not vacuous)...
  expect(logged).toContain('"status":401')
  // ...but never with the token.
  expect({ audit: audit.includes(TOKEN), stored: stored.includes(TOKEN), logged: logged.includes(TOKEN) }).toEqual({ audit: false, stored: false, logged: false })
})
