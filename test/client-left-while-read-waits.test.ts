import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { upstreamSignal } from '../src/providers/upstream'
import { openStream, scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { waitFor } from './support/wait-for'

/**
 * Mutation guard: a client that hangs up while the gateway's read of the provider's stream waits (headers
 * received, no event yet) cut a call the provider had: SPEC §6, it pays its input estimate, its row `aborted`. The
 * read fails with the client's abort (`readFailed`), and must end the stream as the client's cut, not as a provider
 * failure (which would release it: a received request at $0).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-kw-left'))
})
afterAll(() => stop())

for (const [path, model] of [['/v1/chat/completions', 'plain:m'], ['/v1/messages', 'ant:m']] as const) {
  test(`${path} → ${model}: the client leaves while the read waits on a silent provider: the input estimate, aborted`, async () => {
    // Headers and a keep-alive comment only: the provider has the prompt and is still "thinking".
    upstream.answer(openStream([': keep-alive\n\n']))
    const row = await settledRow(gw, 'team-kw-left', async () => {
      const controller = new AbortController()
      const res = await fetch(gw.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something long' }] }),
        signal: controller.signal,
      })
      expect(res.status).toBe(200)
      // The gateway's pull is now waiting on the provider's body.
      const reader = res.body!.getReader()
      await reader.read()
      const pending = reader.read().catch(() => null)
      await Bun.sleep(100)
      controller.abort()
      await pending
      await waitFor(5_000, () => gw.query('SELECT count(*) AS n FROM reservations')[0].n === 0)
    })
    expect(row.status).toBe('aborted')
    expect(row.cost).toBeGreaterThan(0)
    // Rates 1 µ$ in, 2 µ$ out: the hold less its output part is the input estimate charged.
    expect(row.cost).toBe(row.reserved - 100 * 2)
  }, 15_000)
}

/**
 * The same at the meter, with the read under way when the client leaves (the gateway's pull already waits on the
 * provider, not merely asked for): the abort fails that read (`readFailed`), and the stream ends `cancelled`, paid
 * as its client's cut, never `failed` (the provider's failure: $0 before any output).
 */
for (const [name, events] of [
  ['before any output', []],
  ['after a role-only chunk', [`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] })}\n\n`]],
] as const) {
  test(`meter: the client leaves while a read waits on the provider, ${name}: cancelled`, async () => {
    const client = new AbortController()
    const signal = upstreamSignal(5_000, client.signal)
    // Like fetch's body: aborting the call's signal errors the pending read.
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const e of events) c.enqueue(new TextEncoder().encode(e))
        signal.signal.addEventListener('abort', () => c.error(signal.signal.reason))
      },
    })
    let facts: StreamFacts | undefined
    const reader = meterOpenAIStream(upstream, { idleTimeoutMs: 5_000, signal, onEnd: (f) => (facts = f), passUsage: false }).getReader()
    if (events.length > 0) await reader.read()
    const pending = reader.read().catch(() => null)
    // The pull has begun and waits on the provider's body.
    await Bun.sleep(20)
    client.abort()
    await pending
    await Bun.sleep(20)
    expect(facts?.end).toBe('cancelled')
  })
}
