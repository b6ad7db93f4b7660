/**
 * SPEC §6: a client that disconnects mid-stream "is charged what was generated so far (usage if known …)".
 * A fast provider often finishes while a slow client is still reading: its whole answer and its usage then sit
 * in the gateway's memory (Bun's fetch reads ahead of the meter, whose reads wait for the client). A client that
 * hangs up then pays that usage, as one let go at the idle timeout does (stream-let-go-usage-buffered.test.ts):
 * what had arrived is read through the meter before the call is cut, never billed by the bytes passed on (a
 * byte a token: over-billed when most was passed on, under-billed when most was still in the buffer).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { LookClock } from '../src/providers/look-clock'
import { startTestGateway, type TestGateway } from './support/gateway'
import { longChatAnswer, pausedStreamClient, settledStreamRow } from './support/paused-reader'
import { sseResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { untilStill } from './support/socket-queues'
import { waitFor } from './support/wait-for'

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

/**
 * Waits until the provider was called and what it sent has reached the gateway: in its memory, or in the sockets' buffers
 * once the gateway's fetch read far enough ahead (its look at what has arrived, as the client leaves, reads those too).
 * A fixed wait (1.5 s) was too short for 25 MB on a loaded machine, and the client then paid by the part that had come.
 */
async function untilAnswerArrived() {
  const calls = upstream.calls.length
  expect(await waitFor(10_000, () => upstream.calls.length > calls)).toBe(true)
  await untilStill(Number(new URL(upstream.url).port))
}

for (const pieces of [600, 3000]) {
  test(`a paused client that hangs up after its provider finished (${pieces} events) is paid by the usage in the gateway's buffer`, async () => {
    const user = `left-reader-${pieces}`
    const { secret } = await gw.userWithKey({ id: user, max_budget: 1000 })
    const { events, outputTokens } = longChatAnswer({ pieces, finished: true })
    upstream.answer(() => sseResponse(events))
    client = pausedStreamClient(gw, secret)
    // The provider sends its whole answer at once (~5 or ~25 MB): it is in the gateway's memory once read off the socket.
    await untilAnswerArrived()
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
  // The time this process (the gateway's too) ran from the client's leaving to the provider's cancel: what the look's
  // bounds count. Wall time on a loaded machine was 1.0–1.3 s with the quiet gap kept (the process waiting for a core).
  let ran: LookClock | undefined
  let ranUntilCancel: number | undefined
  upstream.answer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            for (const e of events) c.enqueue(new TextEncoder().encode(e))
          },
          cancel() {
            ranUntilCancel = ran?.ms
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  )
  client = pausedStreamClient(gw, secret)
  await untilAnswerArrived()
  ran = new LookClock(false)
  client.socket.destroy()
  const row = await settledStreamRow(gw, user)
  ran.stop()
  // Nothing more came after what had arrived: the call is cut within the look's quiet gap (50 ms), not at its bound
  // (1 s), nor after the idle timeout.
  expect(ranUntilCancel ?? null).toBeLessThan(700)
  // No usage: what was generated so far, every byte the provider had sent counted whether the client read it or not.
  expect({ status: row?.status, billedOutput: row?.completion_tokens }).toEqual({ status: 'aborted', billedOutput: sentBytes })
}, 30_000)
