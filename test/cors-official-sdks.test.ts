import { afterAll, beforeAll, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

/**
 * A browser app on an allowed origin using an official SDK (`dangerouslyAllowBrowser: true`) sends headers
 * of its own (`x-stainless-*`, Anthropic's `anthropic-dangerous-direct-browser-access`): the browser asks
 * the preflight for each, and refuses the call unless every one is allowed. The headers are taken from what
 * the installed SDKs really send, so a new one in an SDK upgrade fails here rather than in a user's browser.
 */
const ORIGIN = 'https://app.example.com'
/** Headers a browser sets itself, or that need no preflight: never in `access-control-request-headers`. */
const BROWSER_OWN = new Set(['accept', 'accept-language', 'accept-encoding', 'connection', 'content-length', 'host', 'user-agent'])

let mock: MockProvider
let gw: TestGateway
let capture: ReturnType<typeof Bun.serve>
const sent: string[][] = []

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { cors_allowed_origins: [ORIGIN] } })
  capture = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      sent.push([...req.headers.keys()].map((h) => h.toLowerCase()))
      return new Response('{}', { status: 400, headers: { 'content-type': 'application/json' } })
    },
  })
})
afterAll(async () => {
  capture?.stop(true)
  await gw?.stop()
  await mock?.stop()
})

async function headersSentBy(call: () => Promise<unknown>): Promise<string[]> {
  sent.length = 0
  await call().catch(() => {})
  return sent[0]!.filter((h) => !BROWSER_OWN.has(h))
}

async function preflightAllows(path: string, headers: string[]): Promise<string[]> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': headers.join(',') },
  })
  expect(res.status).toBe(204)
  return (res.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase())
}

test('the OpenAI SDK in a browser: every header it sends is allowed by the preflight', async () => {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${capture.port}/v1`, apiKey: 'tg-x', dangerouslyAllowBrowser: true, maxRetries: 0 })
  const headers = await headersSentBy(() => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }))
  expect(headers).toContain('x-stainless-lang')
  const allowed = await preflightAllows('/v1/chat/completions', headers)
  expect(headers.filter((h) => !allowed.includes(h))).toEqual([])
})

test('the Anthropic SDK in a browser: every header it sends is allowed by the preflight', async () => {
  const client = new Anthropic({ baseURL: `http://127.0.0.1:${capture.port}`, apiKey: 'tg-x', dangerouslyAllowBrowser: true, maxRetries: 0 })
  const headers = await headersSentBy(() => client.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }))
  expect(headers).toContain('anthropic-dangerous-direct-browser-access')
  const allowed = await preflightAllows('/v1/messages', headers)
  expect(headers.filter((h) => !allowed.includes(h))).toEqual([])
})
