import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { generateText, type LanguageModel } from 'ai'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

/**
 * A browser app on an allowed origin using the Vercel AI SDK: its providers set a `user-agent` header themselves
 * (`ai-sdk/openai/… runtime/browser`, provider-utils' withUserAgentSuffix). A header a script sets is not CORS-safelisted
 * however the browser sets its own: Firefox sends it and asks the preflight for it (Chromium drops it, until it
 * follows the Fetch standard as Firefox does), and refuses the call unless it is allowed. The headers are taken from
 * what the installed SDK hands its `fetch`, before any runtime adds its own.
 */
const ORIGIN = 'https://app.example.com'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { cors_allowed_origins: [ORIGIN] } })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

/** The header names the SDK's call hands its fetch (none the browser adds itself). */
async function headersSetBy(call: (fetch: typeof globalThis.fetch) => Promise<unknown>): Promise<string[]> {
  let names: string[] = []
  const capture = (async (_url: string | URL | Request, init?: RequestInit) => {
    names = [...new Headers(init?.headers).keys()].map((h) => h.toLowerCase())
    return new Response('{}', { status: 400, headers: { 'content-type': 'application/json' } })
  }) as typeof globalThis.fetch
  await call(capture).catch(() => {})
  return names
}

async function preflightAllows(path: string, headers: string[]): Promise<string[]> {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': headers.join(',') },
  })
  expect(res.status).toBe(204)
  return (res.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase())
}

const ask = (model: LanguageModel) => generateText({ model, prompt: 'hi', maxRetries: 0 })

test('the AI SDK in a browser: every header its OpenAI and Anthropic providers set, user-agent included, is allowed by the preflight', async () => {
  const openai = await headersSetBy((fetch) => ask(createOpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'tg-x', fetch }).chat('m')))
  const anthropic = await headersSetBy((fetch) => ask(createAnthropic({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'tg-x', fetch })('m')))
  expect(openai).toContain('user-agent')
  expect(anthropic).toContain('user-agent')
  const allowedChat = await preflightAllows('/v1/chat/completions', openai)
  const allowedMessages = await preflightAllows('/v1/messages', anthropic)
  expect({ openai: openai.filter((h) => !allowedChat.includes(h)), anthropic: anthropic.filter((h) => !allowedMessages.includes(h)) }).toEqual({ openai: [], anthropic: [] })
})
