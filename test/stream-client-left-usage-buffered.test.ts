/**
 * SPEC §6: a client that disconnects mid-stream "is charged what was generated so far (usage if known …)".
 * A fast provider often finishes while a slow client is still reading: its whole answer and its usage then sit
 * in the gateway's memory (Bun's fetch reads ahead of the meter, whose reads wait for the client). A client that
 * hangs up then pays that usage, as one let go at the idle timeout does (stream-let-go-usage-buffered.test.ts):
 * what had arrived is read through the meter before the call is cut, never billed by the bytes passed on (a
 * byte a token: over-billed when most was passed on, under-billed when most was still in the buffer).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { longChatAnswer, pausedStreamClient, settledStreamRow } from './support/paused-reader'
import { sseResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
let client: ReturnType<typeof pausedStreamClient> | undefined

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      // Long enough that the client is never let go: it leaves by itself.
      upstream_idle_timeout_ms: 60_000,
    },
  })
})
afterAll(async () => {
  client?.socket.destroy()
  await gw?.stop()
  await upstream?.stop()
})

for (const pieces of [600, 3000]) {
  test(`a paused client that hangs up after its provider finished (${pieces} events) is paid by the usage in the gateway's buffer`, async () => {
    const user = `left-reader-${pieces}`
    const { secret } = await gw.userWithKey({ id: user, max_budget: 1000 })
    const { events, outputTokens } = longChatAnswer({ pieces, finished: true })
    upstream.answer(() => sseResponse(events))
    client = pausedStreamClient(gw, secret)
    // The provider sends its whole answer at once; give it time to arrive in the gateway's memory.
    await Bun.sleep(1_500)
    client.socket.destroy()
    // One row, written once the stream has ended: the client left, so it says `aborted`.
    expect((await settledStreamRow(gw, user))?.status).toBe('aborted')
    const charged = gw.query<{ cost: number; completion_tokens: number }>('SELECT cost, completion_tokens FROM usage WHERE user_id = ?', user)[0]
    // The provider's usage: 5 input tokens at 1 µ$, the output at 2 µ$ a token.
    expect({ billedOutput: charged?.completion_tokens, cost: charged?.cost }).toEqual({ billedOutput: outputTokens, cost: 5 + outputTokens * 2 })
    const after = (await gw.admin('GET', `/v1/users/${user}`)).body
    expect(after.reserved).toBe(0)
  }, 30_000)
}

test('a paused client that hangs up on a provider still at work frees the provider at once, and pays what had arrived', async () => {
  const user = 'left-reader-unfinished'
  const { secret } = await gw.userWithKey({ id: user, max_budget: 1000 })
  const { events, sentBytes } = longChatAnswer({ finished: false })
  let cancelledAt: number | undefined
  upstream.answer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            for (const e of events) c.enqueue(new TextEncoder().encode(e))
          },
          cancel() {
            cancelledAt = performance.now()
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  )
  client = pausedStreamClient(gw, secret)
  await Bun.sleep(1_500)
  const leftAt = performance.now()
  client.socket.destroy()
  const row = await settledStreamRow(gw, user)
  // Nothing more came after what had arrived: the call is cut within the look's quiet gap, not after the idle timeout.
  expect(cancelledAt === undefined ? null : cancelledAt - leftAt).toBeLessThan(1_000)
  // No usage: what was generated so far, every byte the provider had sent counted whether the client read it or not.
  expect({ status: row?.status, billedOutput: row?.completion_tokens }).toEqual({ status: 'aborted', billedOutput: sentBytes })
}, 30_000)
