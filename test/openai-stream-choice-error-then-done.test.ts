import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * SPEC §6: an upstream error before any output is released. A chat stream reports a provider's failure in two
 * places: on the chunk (`error`, vLLM's) and on a choice (`choices[].error` with `finish_reason: "error"`,
 * OpenRouter's failure mid-generation), each followed by `[DONE]` without a usage. Only the first failed the
 * stream: the second was "finished" at `[DONE]`, recorded ok and charged its whole hold (2,025 µ$), its error
 * object counted as output (37 bytes); and an Anthropic or Responses client of the same stream was told the
 * message had finished, empty. A choice's error now fails the stream for the meter and both translators.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  upstream = startScriptedUpstream()
  // A chat server without the Responses API: `/v1/responses` is translated to its chat completions.
  const providers = { plain: { ...scriptedProviders(upstream).plain, responses: 'chat' } }
  gw = await startTestGateway({ config: { providers, pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } } })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const head = { id: 'gen-1', object: 'chat.completion.chunk', created: 1, model: 'm', provider: 'SomeHost' }
const failure = { code: 502, message: 'Provider disconnected unexpectedly' }
const choiceFailure = { ...head, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error', error: failure }] }

/** `chunks` then `[DONE]` from the provider, asked for by `user` on `path`; the client's text and the usage row. */
async function run(user: string, path: string, headers: Record<string, string>, body: Record<string, unknown>, chunks: unknown[]) {
  upstream.answer(() => sseResponse([...chunks.map(openAIEvent), openAIEvent('[DONE]')]))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  let text = ''
  const row = await settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'plain:m', stream: true, ...body }),
    })
    text = await res.text()
  })
  return { row, text }
}

const chat = (user: string, chunks: unknown[]) =>
  run(user, '/v1/chat/completions', {}, { max_tokens: 1_000, messages: [{ role: 'user', content: 'hi' }] }, chunks)

test('control: an error on the chunk, then [DONE], before any output: released', async () => {
  const { row } = await chat('chunk-error-then-done', [{ ...head, error: failure, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] }])
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'error', cost: 0 })
})

test("an error on the choice (OpenRouter's), then [DONE], before any output: released, not charged the hold", async () => {
  const { row, text } = await chat('choice-error-then-done', [choiceFailure])
  expect(text).toContain('Provider disconnected unexpectedly')
  expect({ status: row.status, cost: row.cost, completion_tokens: row.completion_tokens }).toEqual({ status: 'error', cost: 0, completion_tokens: 0 })
})

test('after some output, the error on the choice is no output: the input estimate plus what was delivered', async () => {
  const said = { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }] }
  const { row } = await chat('choice-error-after-output', [said, choiceFailure])
  expect({ status: row.status, completion_tokens: row.completion_tokens }).toEqual({ status: 'error', completion_tokens: 'Hello'.length })
})

test('the same failure reaches an Anthropic client as an error, released, not as a finished empty message', async () => {
  const { row, text } = await run(
    'choice-error-anthropic-client',
    '/v1/messages',
    { 'anthropic-version': '2023-06-01' },
    { max_tokens: 1_000, messages: [{ role: 'user', content: 'hi' }] },
    [choiceFailure],
  )
  expect({ error: text.includes('event: error'), stopped: text.includes('event: message_stop') }).toEqual({ error: true, stopped: false })
  expect(text).toContain('Provider disconnected unexpectedly')
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'error', cost: 0 })
})

test('the same failure reaches a Responses client as response.failed, released, not as a completed response', async () => {
  const { row, text } = await run('choice-error-responses-client', '/v1/responses', {}, { max_output_tokens: 1_000, store: false, input: 'hi' }, [choiceFailure])
  expect({ failed: text.includes('event: response.failed'), completed: text.includes('event: response.completed') }).toEqual({ failed: true, completed: false })
  expect(text).toContain('Provider disconnected unexpectedly')
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'error', cost: 0 })
})
