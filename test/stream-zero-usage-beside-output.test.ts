import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { openAIEvent, openStream, scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * SPEC §6: a request the provider received is never free. A usage that counts no output beside output the
 * client was given (a proxy appending its own zeros, a server that does not count) is no usage: a finished
 * stream pays its estimate, a cut one its input estimate and the output delivered.
 * plain:m costs 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('zero-usage'))
})
afterAll(() => stop())

const LONG = 'word '.repeat(1_000)
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })
const zeroUsage = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } })

const chat = (stream_options?: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, stream: true, stream_options, messages: [{ role: 'user', content: 'Write a lot' }] }),
  })

describe('a stream usage of 0 tokens beside delivered output', () => {
  test('finished: 5,000 bytes of output beside a usage of 0 tokens pay the estimate, not $0', async () => {
    upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: LONG }), chunk({}, 'stop'), zeroUsage, openAIEvent('[DONE]')]))
    const row = await settledRow(gw, 'zero-usage', async () => {
      const res = await chat()
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.status).toBe('ok')
    expect(row.cost).toBeGreaterThan(0)
    // As a stream that ends without usage: its estimate (SPEC §6).
    expect(row.cost).toBe(row.reserved)
  })

  test('cut by the client after it: the input estimate and the 500 bytes delivered', async () => {
    upstream.answer(openStream([chunk({ role: 'assistant', content: 'word '.repeat(100) }), chunk({}, 'stop'), zeroUsage]))
    const row = await settledRow(gw, 'zero-usage', async () => {
      const res = await chat({ include_usage: true })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      let text = ''
      while (!text.includes('"completion_tokens":0')) text += new TextDecoder().decode((await reader.read()).value)
      await reader.cancel()
    })
    expect(row.status).toBe('aborted')
    // A byte per token at most: 500 output tokens, beside the input estimate (the hold less its 4,000 output tokens).
    expect(row.completion_tokens).toBe(500)
    expect(row.cost).toBe(row.reserved - 4_000 * 2 + 500 * 2)
  })
})
