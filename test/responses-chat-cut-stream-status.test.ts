import { expect, setDefaultTimeout, test } from 'bun:test'
import { dataEvents, openAIEvent, postResponses, scriptedProviders, sseResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Mutation guard, src/translate/responses/chunks-to-response-events.ts `end()`: a chat stream that
 * ends without `[DONE]` is a finished answer only when it gave both a finish reason and usage ("a finish reason
 * and usage are a finished answer too"). A stream that sent text and a usage chunk but never a finish reason, and
 * then closed, is billed by that usage (the chat meter counts a usage-only chunk as the stream's end, so it adds
 * no truncation error of its own); the converter alone decides what the Responses client is told, and it must not
 * be `response.completed` (Codex and the Agents SDK take `completed` for a finished turn). No suite sent such a
 * stream, so an `end()` that completed on usage alone passed them all.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  (u) => ({
    providers: { ...scriptedProviders(u), chat: { ...scriptedProviders(u).plain, responses: 'chat' } },
    pricing: { 'chat:m': { input_per_million: 1, output_per_million: 2 } },
  }),
  (s) => {
    upstream = s.upstream
    gw = s.gw
  },
)


test('a chat stream closed after a usage chunk but before any finish reason or [DONE]: not a completed response', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-lp-cut-chat', max_budget: 10 })
  const chunk = (content: string) =>
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })
  const usage = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } })
  // The server closes the stream here: no finish reason, no [DONE].
  upstream.answer(() => sseResponse([chunk('The answer is'), chunk(' forty'), usage]))
  const res = await postResponses(gw, secret, { model: 'chat:m', input: 'hi', store: false, stream: true })
  expect(res.status).toBe(200)
  const all = dataEvents(await res.text())
  const types = all.map((e) => e.type)
  expect(types).not.toContain('response.completed')
  expect(types.filter((t) => t === 'response.failed' || t === 'error').length).toBeGreaterThan(0)
})
