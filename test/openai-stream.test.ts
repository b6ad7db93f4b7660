import { describe, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { upstreamSignal } from '../src/providers/upstream'

/** Feeds the meter these exact byte chunks and collects what the client receives and what was metered. */
async function meter(chunks: string[], passUsage = false) {
  const encoder = new TextEncoder()
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(encoder.encode(chunk))
      c.close()
    },
  })
  let facts: StreamFacts | undefined
  const out = meterOpenAIStream(upstream, { passUsage, idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f) })
  const text = await new Response(out).text()
  return { text, facts: facts! }
}

const delta = (content: string) => `data: {"choices":[{"index":0,"delta":{"content":"${content}"}}]}`
const usage = 'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}}'

describe('OpenAI stream meter', () => {
  test('reads usage, counts delivered output, and drops the usage chunk the client did not ask for', async () => {
    const { text, facts } = await meter([`${delta('Hel')}\n\n${delta('lo')}\n\n`, `${usage}\n\ndata: [DONE]\n\n`])
    expect(facts).toEqual({ end: 'done', usage: { promptTokens: 7, completionTokens: 3, cachedTokens: 2 }, deliveredOutputBytes: 5 })
    expect(text).not.toContain('"usage"')
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
    expect((await meter([`${usage}\n\ndata: [DONE]\n\n`], true)).text).toContain('"prompt_tokens":7')
  })

  test('events split anywhere, CRLF line ends split between reads included, come out whole and once', async () => {
    const whole = `${delta('a')}\r\n\r\n${delta('b')}\r\n\r\ndata: [DONE]\r\n\r\n`
    for (let cut = 1; cut < whole.length; cut++) {
      const { text, facts } = await meter([whole.slice(0, cut), whole.slice(cut)])
      expect(text).toBe(`${delta('a')}\n\n${delta('b')}\n\ndata: [DONE]\n\n`)
      expect(facts.end).toBe('done')
      expect(facts.deliveredOutputBytes).toBe(2)
    }
  })

  test('a stream cut off without [DONE] or usage ends as truncated, with an error event for the client', async () => {
    const { text, facts } = await meter([`${delta('par')}\n\n`])
    expect(facts.end).toBe('truncated')
    expect(facts.usage).toBeNull()
    expect(text).toContain('"code":"upstream_error"')
  })

  test('a usage on a chunk that still has choices (continuous usage stats) does not finish the stream, and stands for it only until more output comes', async () => {
    const withUsage = (content: string, completion: number) =>
      `data: {"choices":[{"index":0,"delta":{"content":"${content}"}}],"usage":{"prompt_tokens":7,"completion_tokens":${completion}}}`
    const latest = await meter([`${withUsage('Hel', 1)}\n\n${withUsage('lo', 2)}\n\n`])
    expect(latest.facts).toEqual({ end: 'truncated', usage: { promptTokens: 7, completionTokens: 2, cachedTokens: 0 }, deliveredOutputBytes: 5 })
    const outputAfter = await meter([`${withUsage('Hel', 1)}\n\n${delta('lo')}\n\n`])
    expect(outputAfter.facts).toEqual({ end: 'truncated', usage: null, deliveredOutputBytes: 5 })
    const thenDone = await meter([`${withUsage('Hel', 1)}\n\n${delta('lo')}\n\ndata: [DONE]\n\n`])
    expect(thenDone.facts).toEqual({ end: 'done', usage: null, deliveredOutputBytes: 5 })
    // Passed on as they came: only a usage chunk without choices is OpenAI's last one, dropped unless asked for.
    expect(latest.text).toContain('"completion_tokens":2')
  })

  test('the usage chunk without choices finishes the stream, [DONE] or not', async () => {
    const { facts } = await meter([`${delta('Hello')}\n\n${usage}\n\n`])
    expect(facts).toEqual({ end: 'done', usage: { promptTokens: 7, completionTokens: 3, cachedTokens: 2 }, deliveredOutputBytes: 5 })
  })

  test('an event that is not JSON stops the stream: nothing after it is passed on, an error event ends it', async () => {
    const { text, facts } = await meter([`${delta('ok')}\n\ndata: {not json\n\n${delta('never')}\n\ndata: [DONE]\n\n`])
    expect(facts.end).toBe('malformed')
    expect(facts.deliveredOutputBytes).toBe(2)
    expect(text).not.toContain('never')
    expect(text).not.toContain('{not json')
    expect(text).toContain('malformed event')
  })

  test("an event that is not JSON after the provider's own error: the stream ends as the provider's failure, not the gateway's cut", async () => {
    const { facts } = await meter([`data: {"error":{"message":"overloaded"}}\n\ndata: {not json\n\n`])
    expect(facts.end).toBe('failed')
  })
})
