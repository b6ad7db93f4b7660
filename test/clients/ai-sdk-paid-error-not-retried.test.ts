import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { generateText, type LanguageModel } from 'ai'
import { clientGuideBlock } from '../support/clients'
import { startPaidErrorSetup, type PaidErrorSetup } from '../support/paid-error-setup'

/**
 * The Vercel AI SDK does not read `x-should-retry`: it retries any 5xx twice by default, so a paid 502 (the provider
 * made and bills the call, its answer does not parse) was sent and charged three times. The README's client guide
 * gives it `maxRetries: 0`; this test reads the setting from the guide's snippet, so the two cannot drift apart.
 */
Object.assign(globalThis, { AI_SDK_LOG_WARNINGS: false })

let setup: PaidErrorSetup

/** The `maxRetries` every `generateText` call of the guide's snippet gives (one value, or the test fails here). */
function guideMaxRetries(): number {
  const calls = clientGuideBlock('**Vercel AI SDK**', 'ts').split('\n').filter((line) => line.includes('generateText('))
  const given = new Set(calls.map((line) => /\bmaxRetries: (\d+)/.exec(line)?.[1]))
  expect({ calls: calls.length > 0, given: [...given] }).toEqual({ calls: true, given: [expect.stringMatching(/^\d+$/)] })
  return Number([...given][0])
}

beforeAll(async () => {
  setup = await startPaidErrorSetup('ai-sdk-paid')
})
afterAll(() => setup?.stop())

/** One generateText as the guide configures it, the provider's 200 cut short: what the gateway answered, sent on and charged. */
async function paidFailureOnce(model: LanguageModel, path: string, cutShort: string) {
  setup.upstream.answer(() => new Response(cutShort, { headers: { 'content-type': 'application/json' } }))
  const { result: status, ...seen } = await setup.sentAndCharged(path, () =>
    generateText({ model, prompt: 'Say hello.', maxOutputTokens: 64, maxRetries: guideMaxRetries() }).then(
      () => 200,
      (e) => e.lastError?.statusCode ?? e.statusCode,
    ),
  )
  return { status, ...seen }
}

test('@ai-sdk/openai (Responses API) as the guide configures it: a paid 502 is sent and charged once', async () => {
  const openai = createOpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret })
  expect(await paidFailureOnce(openai('plain:m'), '/v1/responses', '{"id":"resp_x","object":"response","output":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
}, 30_000)

test('@ai-sdk/openai (chat) as the guide configures it: a paid 502 is sent and charged once', async () => {
  const openai = createOpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret })
  expect(await paidFailureOnce(openai.chat('plain:m'), '/v1/chat/completions', '{"id":"x","choices":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
}, 30_000)

test('@ai-sdk/anthropic as the guide configures it: a paid 502 is sent and charged once', async () => {
  const anthropic = createAnthropic({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret })
  expect(await paidFailureOnce(anthropic('ant:m'), '/v1/messages', '{"id":"msg_x","type":"message","content":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
}, 30_000)
