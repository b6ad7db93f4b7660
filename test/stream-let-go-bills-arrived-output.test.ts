/**
 * A client that takes nothing for the idle timeout is let go, and first what has arrived of the provider's body is
 * read (`readArrived`, up to 1 s). When the provider has not finished, that read is no whole answer, but the provider
 * made and sent that output, and the gateway holds it: SPEC §6, a stream cut mid-way "is charged what was generated
 * so far (... every kind of output counted from delivered deltas)". So it goes through the meter and is counted,
 * though not queued for a client that takes nothing. Here the provider sends ~4.9 MB of deltas at once and keeps its
 * stream open; all of it reaches the gateway. Before, what the let-go read was dropped uncounted, and only what had
 * been passed on to the socket (~4.3 M) was billed; the output the provider made during that read was dropped too.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withIdleTimeoutGateway } from './support/idle-timeout-gateway'
import { longChatAnswer, pausedStreamClient, settledStreamRow } from './support/paused-reader'
import { openStream, type ScriptedUpstream } from './support/scripted-upstream'

// ~4.9 MB sent at once; the stream then stays open (the provider still at work).
const { events, sentBytes: SENT_BYTES } = longChatAnswer({ finished: false })

let upstream: ScriptedUpstream
let gw: TestGateway
let key: string
let client: ReturnType<typeof pausedStreamClient> | undefined

withIdleTimeoutGateway({ users: [{ id: 'let-go-reader', max_budget: 100 }], cleanup: () => client?.socket.destroy() }, (s) => {
  ;({ upstream, gw } = s)
  key = s.secrets[0]!
})

test('a let-go stream whose provider is still at work is billed the output the let-go read, not only what was passed on', async () => {
  upstream.answer(openStream(events))
  client = pausedStreamClient(gw, key)
  const row = await settledStreamRow(gw, 'let-go-reader')
  expect(row?.status).toBe('aborted')
  // Every byte of output the provider sent had reached the gateway (and was read by the let-go): a token at most each.
  expect(row?.completion_tokens).toBeGreaterThanOrEqual(SENT_BYTES)
}, 30_000)
