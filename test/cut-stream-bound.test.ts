import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { openAIEvent, openStream, scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A stream cut by its client before the usage is charged its input estimate plus the output delivered,
 * kept within the hold only when "the provider was given a max output the hold covers" (README, outcome.ts
 * `holdCoversOutput`). The provider `plain` here reads only `max_tokens` (as vLLM and Ollama do, the
 * premise of src/translate/output-cap.ts and test/cap-output.test.ts). A field that provider does not read
 * bounds nothing: a client that sets only such a field can read any length of output and cut the stream
 * before its usage for the price of a tiny hold. Cap-output is off (the default).
 */

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
const USER = 'team-rd-cut'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const delta = (d: Record<string, unknown>) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: d, finish_reason: null }] })
const finished = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })
// 20,000 bytes of text, each counted as a token at $2/M: 40,000 micro-USD of output, far past a 1-token hold.
const LONG = 'x'.repeat(20_000)

async function readThenCut(fields: Record<string, unknown>) {
  const res = await fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', ...fields, stream: true, messages: [{ role: 'user', content: 'Say something' }] }),
  })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  let text = ''
  while (!text.includes('"finish_reason":"stop"')) text += new TextDecoder().decode((await reader.read()).value)
  await reader.cancel()
}

describe('a cut stream is kept within its hold only when the provider read a max output the hold covers', () => {
  test('chat with only `max_output_tokens: 1` (a Responses field no chat server reads): the 20,000 bytes delivered are charged, past the hold', async () => {
    upstream.answer(openStream([delta({ role: 'assistant', content: LONG }), finished]))
    const row = await settledRow(gw, USER, () => readThenCut({ max_output_tokens: 1 }))
    expect(upstream.calls.at(-1)!.body.max_tokens).toBeUndefined()
    expect(row.status).toBe('aborted')
    // Held: input + the default 4,096 output tokens. Delivered: 20,000 output tokens.
    const input = row.reserved - 4096 * 2
    expect(row.cost).toBe(input + 20_000 * 2)
  })

  test('chat with only `max_completion_tokens: 1` to a server that reads only `max_tokens`: the 20,000 bytes delivered are charged, past the hold', async () => {
    upstream.answer(openStream([delta({ role: 'assistant', content: LONG }), finished]))
    const row = await settledRow(gw, USER, () => readThenCut({ max_completion_tokens: 1 }))
    expect(upstream.calls.at(-1)!.body.max_tokens).toBeUndefined()
    expect(row.status).toBe('aborted')
    // Held: input + 1 output token. Delivered: 20,000 output tokens, which the provider was never told to stop short of.
    const input = row.reserved - 1 * 2
    expect(row.cost).toBe(input + 20_000 * 2)
  })
})
