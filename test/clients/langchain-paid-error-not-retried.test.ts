import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { ChatAnthropic } from '@langchain/anthropic'
import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { ChatOpenAI } from '@langchain/openai'
import { clientGuideBlock } from '../support/clients'
import { startPaidErrorSetup, type PaidErrorSetup } from '../support/paid-error-setup'

setDefaultTimeout(30_000)

/**
 * LangChain retries through its own caller, which does not read `x-should-retry`: by default a 5xx is tried seven
 * times, so a paid 502 (the provider made and bills the call, its answer does not parse) was sent and charged seven
 * times. The README's client guide gives every LangChain model `maxRetries: 0`; this test reads the setting from the
 * guide's snippet, so the two cannot drift apart, and shows a free refusal still says it may be retried.
 */
let setup: PaidErrorSetup

/** The `maxRetries` every model of the guide's LangChain snippet is given (one value, or the test fails here). */
function guideMaxRetries(): number {
  const models = clientGuideBlock('**LangChain**', 'ts').split('\n').filter((line) => /new (ChatOpenAI|ChatAnthropic|OpenAIEmbeddings)\(/.test(line))
  const given = models.map((line) => /\bmaxRetries: (\d+)/.exec(line)?.[1])
  expect({ models: models.length, given: [...new Set(given)] }).toEqual({ models: 4, given: [expect.stringMatching(/^\d+$/)] })
  return Number(given[0])
}

beforeAll(async () => {
  setup = await startPaidErrorSetup('langchain-paid')
})
afterAll(() => setup?.stop())

const chatOpenAI = (options: object = {}) =>
  new ChatOpenAI({ model: 'plain:m', apiKey: setup.secret, configuration: { baseURL: `${setup.gw.url}/v1` }, maxRetries: guideMaxRetries(), ...options })

/** One invoke as the guide configures it, the provider's 200 cut short: what the gateway answered, sent on and charged. */
async function paidFailureOnce(model: BaseChatModel, path: string, cutShort: string) {
  setup.upstream.answer(() => new Response(cutShort, { headers: { 'content-type': 'application/json' } }))
  const { result: status, ...seen } = await setup.sentAndCharged(path, () =>
    model.invoke('Say hello.').then(
      () => 200,
      (e: { status?: number }) => e.status,
    ),
  )
  return { status, ...seen }
}

test('ChatOpenAI (chat completions) as the guide configures it: a paid 502 is sent and charged once', async () => {
  expect(await paidFailureOnce(chatOpenAI(), '/v1/chat/completions', '{"id":"x","choices":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
})

test('ChatOpenAI with useResponsesApi as the guide configures it: a paid 502 is sent and charged once', async () => {
  const model = chatOpenAI({ useResponsesApi: true })
  expect(await paidFailureOnce(model, '/v1/responses', '{"id":"resp_x","object":"response","output":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
})

test('ChatAnthropic as the guide configures it: a paid 502 is sent and charged once', async () => {
  const model = new ChatAnthropic({ model: 'ant:m', apiKey: setup.secret, anthropicApiUrl: setup.gw.url, maxRetries: guideMaxRetries() })
  expect(await paidFailureOnce(model, '/v1/messages', '{"id":"msg_x","type":"message","content":[')).toEqual({ status: 502, providerCalls: 1, charged: 1 })
})

test("a free refusal reaches the application with the headers the guide's retry reads", async () => {
  const { secret: limited } = await setup.gw.userWithKey({ id: 'langchain-limited', max_budget: 10 }, { rpm_limit: 1 })
  const model = new ChatOpenAI({ model: 'plain:m', apiKey: limited, configuration: { baseURL: `${setup.gw.url}/v1` }, maxRetries: guideMaxRetries() })
  setup.upstream.answer(() => Response.json({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }))
  await model.invoke('Say hello.')
  const refused = await model.invoke('Say hello.').then(
    () => null,
    (e: { status?: number; headers?: Headers | Record<string, string> }) => {
      const header = (name: string) => (e.headers instanceof Headers ? e.headers.get(name) : e.headers?.[name])
      return { status: e.status, shouldRetry: header('x-should-retry'), retryAfter: Number(header('retry-after')) > 0 }
    },
  )
  expect(refused).toEqual({ status: 429, shouldRetry: 'true', retryAfter: true })
})
