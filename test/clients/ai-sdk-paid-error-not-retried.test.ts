import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { generateText, type LanguageModel } from 'ai'
import { clientGuideBlock } from '../support/clients'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'

/**
 * The Vercel AI SDK does not read `x-should-retry`: it retries any 5xx twice by default, so a paid 502 (the provider
 * made and bills the call, its answer does not parse) was sent and charged three times. The README's client guide
 * gives it `maxRetries: 0`; this test reads the setting from the guide's snippet, so the two cannot drift apart.
 */
Object.assign(globalThis, { AI_SDK_LOG_WARNINGS: false })

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

/** The `maxRetries` every `generateText` call of the guide's snippet gives (one value, or the test fails here). */
function guideMaxRetries(): number {
  const calls = clientGuideBlock('**Vercel AI SDK**', 'ts').split('\n').filter((line) => line.includes('generateText('))
  const given = new Set(calls.map((line) => /\bmaxRetries: (\d+)/.exec(line)?.[1]))
  expect({ calls: calls.length > 0, given: [...given] }).toEqual({ calls: true, given: [expect.stringMatching(/^\d+$/)] })
  return Number([...given][0])
}

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'ai-sdk-paid', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

/** One generateText as the guide configures it, the provider's 200 cut short: what the gateway answered, sent on and charged. */
async function paidFailureOnce(model: LanguageModel, path: string, cutShort: string) {
  const before = upstream.calls.length
  upstream.answer(() => new Response(cutShort, { headers: { 'content-type': 'application/json' } }))
  await gw.settled()
  const rowsBefore = gw.query("SELECT count(*) AS n FROM usage WHERE user_id = 'ai-sdk-paid'")[0].n
  const status = await generateText({ model, prompt: 'Say hello.', maxOutputTokens: 64, maxRetries: guideMaxRetries() }).then(
    () => 200,
    (e) => e.lastError?.statusCode ?? e.statusCode,
  )
  await gw.settled()
  const charged = gw.query("SELECT count(*) AS n FROM usage WHERE user_id = 'ai-sdk-paid'")[0].n - rowsBefore
  return { status, providerCalls: upstream.calls.slice(before).filter((c) => c.path === path).length, charged }
}

test('@ai-sdk/openai (Responses API) as the guide configures it: a paid 502 is sent and charged once', async () => {
  const openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret })
  expect(await paidFailureOnce(openai('plain:m'), '/v1/responses', '{"id":"resp_x","object":"response","output":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
}, 30_000)

test('@ai-sdk/openai (chat) as the guide configures it: a paid 502 is sent and charged once', async () => {
  const openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret })
  expect(await paidFailureOnce(openai.chat('plain:m'), '/v1/chat/completions', '{"id":"x","choices":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
}, 30_000)

test('@ai-sdk/anthropic as the guide configures it: a paid 502 is sent and charged once', async () => {
  const anthropic = createAnthropic({ baseURL: `${gw.url}/v1`, apiKey: secret })
  expect(await paidFailureOnce(anthropic('ant:m'), '/v1/messages', '{"id":"msg_x","type":"message","content":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
}, 30_000)
