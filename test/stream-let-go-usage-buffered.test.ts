/**
 * A stream whose client takes nothing of it for the idle timeout is let go (`unread`), and paid as one its client cut:
 * what was generated so far, "usage if known" (SPEC §6). Bun's fetch reads a provider's body on whatever the client
 * takes, so a fast provider has often finished by then, its whole answer and its usage in the gateway's memory but
 * not read by the meter (the client's backpressure held the meter's reads back). The provider's body was cancelled
 * with them unread, and the stream billed every byte it had passed on as a token: here 4.3 M where the provider
 * reported 1.23 M. What has arrived is now read first: the provider had finished, so the stream is paid by its usage
 * and ends as a finished one, the rest of the answer queued for the client; its row says `ok`, as when the client
 * paused and read on (upstream-faults.test.ts). (stream-idle-reader-slot.test.ts: a provider that had not finished, paid by what was passed on.)
 */
import { expect, test } from 'bun:test'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import type { TestGateway } from './support/gateway'
import { withIdleTimeoutGateway } from './support/idle-timeout-gateway'
import { longChatAnswer, pausedStreamClient, settledStreamRow } from './support/paused-reader'
import { sseResponse, type ScriptedUpstream } from './support/scripted-upstream'

const { events, outputTokens: OUTPUT_TOKENS } = longChatAnswer({ finished: true })

let upstream: ScriptedUpstream
let gw: TestGateway
let key: string
let client: ReturnType<typeof pausedStreamClient> | undefined

withIdleTimeoutGateway({ users: [{ id: 'stalled-reader', max_budget: 100 }], cleanup: () => client?.socket.destroy() }, (s) => {
  ;({ upstream, gw } = s)
  key = s.secrets[0]!
})

test('a client let go after its provider finished is paid by the usage in the gateway’s buffer, not by the bytes passed on', async () => {
  upstream.answer(() => sseResponse(events))
  client = pausedStreamClient(gw, key)
  // Past the idle timeout, the stream is settled while the client still reads nothing.
  const row = await settledStreamRow(gw, 'stalled-reader')
  // The client reads again: the answer it is paid for reaches it whole.
  const text = await client.readAll()
  expect({ status: row?.status, billedOutput: row?.completion_tokens, done: text.includes('data: [DONE]'), unreadError: text.includes(STREAM_ERRORS.unread) }).toEqual({
    status: 'ok',
    // Before: every byte passed on, as a token (4.3 M).
    billedOutput: OUTPUT_TOKENS,
    done: true,
    unreadError: false,
  })
}, 30_000)
