import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { jsonResponse, openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * SPEC §3: provider error text is never forwarded with credentials. OpenRouter puts a failure mid-generation
 * on the choice (`choices[].error`, with `finish_reason: "error"`), not only at the top level: a choice's error
 * is redacted as a top-level one is, in a JSON answer and in a stream chunk (it was relayed byte for byte).
 */
const KEY = 'sk-scripted-secret-0123456789'
const PARTIAL = 'Once upon a time, '.repeat(20)
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-rt-ca-choice-error'))
})
afterAll(async () => {
  await stop()
})

const post = (body: Record<string, unknown>) =>
  fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe("a choice's error (OpenRouter's failure mid-generation) is relayed with the provider's credentials cut", () => {
  test('JSON: choices[0].error quoting the key never reaches the client', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'gen-1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{
          index: 0, message: { role: 'assistant', content: PARTIAL }, finish_reason: 'error', native_finish_reason: 'error',
          error: { code: 502, message: `upstream refused key ${KEY} mid-generation` },
        }],
        usage: { prompt_tokens: 5, completion_tokens: 90, total_tokens: 95 },
      }),
    )
    const res = await post({ model: 'plain:m', max_tokens: 400, messages: [{ role: 'user', content: 'story' }] })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(JSON.parse(text).choices[0].message.content).toBe(PARTIAL)
    expect(text).not.toContain(KEY)
  })

  test('stream: a chunk whose choice carries the error quoting the key never reaches the client', async () => {
    upstream.answer(() =>
      sseResponse([
        openAIEvent({ id: 'gen-2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: PARTIAL }, finish_reason: null }] }),
        openAIEvent({
          id: 'gen-2', object: 'chat.completion.chunk', created: 1, model: 'm',
          choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error', error: { code: 502, message: `upstream refused key ${KEY} mid-generation` } }],
        }),
        openAIEvent({ id: 'gen-2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 90, total_tokens: 95 } }),
        openAIEvent('[DONE]'),
      ]),
    )
    const res = await post({ model: 'plain:m', max_tokens: 400, stream: true, messages: [{ role: 'user', content: 'story' }] })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).toContain('Once upon a time')
    expect(text).not.toContain(KEY)
  })
})
