import { afterAll, expect, test } from 'bun:test'
import type { Hold } from '../src/budget/hold'
import { STREAM_ERRORS, type StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { letGoStreamOutcome } from '../src/metering/outcome'
import { NO_FEATURES, type Price } from '../src/pricing/price'
import { upstreamSignal } from '../src/providers/upstream'

/**
 * A metered stream whose client takes nothing of what was read for the idle timeout is let go (`unread`), as a
 * client that went away: the provider's body is cancelled and the stream ends by the facts so far, the error event
 * queued after what the client has not taken. When the provider had already finished (its final event passed on),
 * it ends `done`, with no error event after the whole answer, and is paid by its usage; its row says `aborted`.
 * (test/stream-idle-reader-slot.test.ts: the same through the gateway, slots and charges.)
 */
const encoder = new TextEncoder()
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
const usage = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } })}\n\n`

// A real HTTP upstream whose body stays open after what it sent.
let sent = ''
const provider = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: () =>
    new Response(new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(encoder.encode(sent)) }), { headers: { 'content-type': 'text/event-stream' } }),
})
afterAll(() => provider.stop(true))

async function meteredFor(events: string) {
  sent = events
  const signal = upstreamSignal(10_000)
  const response = await fetch(`http://127.0.0.1:${provider.port}/`, { signal: signal.signal })
  let facts: StreamFacts | undefined
  const out = meterOpenAIStream(response.body!, { idleTimeoutMs: 150, signal, onEnd: (f) => (facts = f), passUsage: true })
  return { signal, reader: out.getReader(), facts: () => facts }
}

const decoder = new TextDecoder()
async function readRest(reader: Awaited<ReturnType<typeof meteredFor>>['reader']): Promise<string> {
  let text = ''
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value)
  return text
}

test('a client that takes nothing more for the idle timeout is let go: the stream ends by what was read, the error event queued', async () => {
  const { signal, reader, facts } = await meteredFor(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'hello' }))
  const first = decoder.decode((await reader.read()).value)
  expect(first).toContain('hello')
  // The client takes nothing more; the provider has more to say, but its body is not read meanwhile.
  await Bun.sleep(400)
  expect(signal.reason()).toBe('unread')
  expect(facts()).toMatchObject({ end: 'cancelled', usage: null, deliveredOutputBytes: 5 })
  expect(await readRest(reader)).toContain(STREAM_ERRORS.unread)
})

test('let go after the provider finished: ended done with no error event, paid by its usage, its row aborted', async () => {
  const { signal, reader, facts } = await meteredFor(chunk({ role: 'assistant', content: 'hi' }) + chunk({}, 'stop') + usage + 'data: [DONE]\n\n')
  expect(decoder.decode((await reader.read()).value)).toContain('[DONE]')
  // The body's end never comes, and the client asks for nothing more.
  await Bun.sleep(400)
  expect(signal.reason()).toBe('unread')
  expect(facts()).toMatchObject({ end: 'done', usage: { promptTokens: 4, completionTokens: 2 } })
  expect(await readRest(reader)).toBe('')

  const price: Price = { id: 1, model: 'p:m', inputPerMillion: 1_000_000, outputPerMillion: 2_000_000, cachedInputPerMillion: null, perRequest: null, createdAt: 0 }
  const outcome = letGoStreamOutcome(facts()!, { price, features: NO_FEATURES }, { inputTokens: 50, outputTokens: 100 }, { amount: 250 } as Hold, 1, true)
  expect(outcome).toMatchObject({ status: 'aborted', cost: 4 + 2 * 2, promptTokens: 4, completionTokens: 2 })
})
