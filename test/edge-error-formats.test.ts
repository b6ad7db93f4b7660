/**
 * Mutation guard: every refusal at the HTTP edge leaves in its route's wire format, with the retry
 * advice the README gives (x-should-retry: `false` on a 4xx other than 408, 409 and 429; none on a 408).
 * - `/v1/messages/count_tokens` speaks Anthropic's format like `/v1/messages` (`wireFormatOf`): no existing test sent
 *   it an edge refusal, so dropping its prefix rule answered the Anthropic SDK OpenAI-shaped errors.
 * - A 413 on the Anthropic routes is `request_too_large`, Anthropic's type for it (`anthropicErrorType`).
 * - A 408 for a body that stopped arriving carries no x-should-retry (the SDKs' own rules retry a 408) and closes
 *   its connection. It is asked of a gateway with the default body limit: under a limit Bun reads within its idle
 *   timeout (LIMIT here), Bun's timeout stays on beside the gateway's and may close the connection first, unanswered
 *   (src/plugins/body-limit.ts; Bun's timer is coarse: 720 ms of a 1 s timeout in one run of the suite in parallel).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

const LIMIT = 1024
const IDLE_SEC = 1

let mock: MockProvider
let gw: TestGateway
let paced: TestGateway
let secret: string
let pacedSecret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, idleTimeoutSec: IDLE_SEC, config: { max_body_bytes: LIMIT } })
  secret = (await gw.userWithKey({ id: 'edge-formats', max_budget: 10 })).secret
  paced = await startTestGateway({ mock, idleTimeoutSec: IDLE_SEC })
  pacedSecret = (await paced.userWithKey({ id: 'edge-formats-paced', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await paced?.stop()
  await mock?.stop()
})

async function send(path: string, body: string) {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body,
  })
  return { status: res.status, retry: res.headers.get('x-should-retry'), body: (await res.json()) as any }
}

const big = JSON.stringify({ model: 'mock:claude-mock', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(2 * LIMIT) }] })

test('an oversized body on /v1/messages and on /v1/messages/count_tokens: 413 in Anthropic\'s shape, type request_too_large', async () => {
  for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
    const a = await send(path, big)
    expect({ path, status: a.status, retry: a.retry, type: a.body.type, errorType: a.body.error?.type }).toEqual({
      path, status: 413, retry: 'false', type: 'error', errorType: 'request_too_large',
    })
  }
  expect(mock.calls.length).toBe(0)
})

test('a malformed body on /v1/messages/count_tokens: 400 in Anthropic\'s shape, as on /v1/messages', async () => {
  for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
    const a = await send(path, '{"model": "mock:claude-mock", "messages": [')
    expect({ path, status: a.status, type: a.body.type, errorType: a.body.error?.type, openAiCode: a.body.error?.code }).toEqual({
      path, status: 400, type: 'error', errorType: 'invalid_request_error', openAiCode: undefined,
    })
  }
  expect(mock.calls.length).toBe(0)
})

/** Sends the head and the first chunk of a chunked body, then nothing; resolves with what the server sent once it closes. */
function stalled(path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(paced.url).port) })
    let text = ''
    const giveUp = setTimeout(() => {
      socket.destroy()
      resolve(text)
    }, 10_000)
    socket.on('connect', () =>
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${pacedSecret}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`,
      ),
    )
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(giveUp)
      resolve(text)
    })
  })
}

test('a body that stops arriving: 408 request_timeout, no x-should-retry, connection closed', async () => {
  const text = await stalled('/v1/chat/completions')
  const [head = '', body = ''] = text.split('\r\n\r\n')
  expect(head).toStartWith('HTTP/1.1 408')
  expect(body).toContain('"code":"request_timeout"')
  expect(head.toLowerCase()).not.toContain('x-should-retry')
  expect(head.toLowerCase()).toContain('connection: close')
}, 15_000)
