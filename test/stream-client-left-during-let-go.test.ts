/**
 * A client that takes nothing for the idle timeout is let go, and the let-go first reads what has arrived of the
 * provider's body through the meter (`endWithArrived`: up to 1 s while the provider is still at work), so that output
 * is paid (stream-let-go-bills-arrived-output.test.ts). A client that hangs up during that look waits for it: the
 * stream ends as the client's cut once what the look read went through the meter. SPEC §6: a stream cut mid-way "is
 * charged what was generated so far". Before, the client's cut aborted the call at once: the look's pending read
 * failed, all it had read (megabytes) was dropped, and the stream paid only what fitted in the socket buffers, here
 * ~4 MB of the ~16 MB the provider made. (stream-client-left-during-cut.test.ts: the call timeout's and the stop's looks.)
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withIdleTimeoutGateway } from './support/idle-timeout-gateway'
import { longChatAnswer, pausedStreamClient, settledStreamRow } from './support/paused-reader'
import { openStream, type ScriptedUpstream } from './support/scripted-upstream'

// ~16 MB sent at once; the stream then stays open (the provider still at work): the let-go's look lasts its whole second.
const { events, sentBytes: SENT_BYTES } = longChatAnswer({ pieces: 2000, finished: false })

let upstream: ScriptedUpstream
let gw: TestGateway
let key: string
let client: ReturnType<typeof pausedStreamClient> | undefined

withIdleTimeoutGateway({ users: [{ id: 'left-during-let-go', max_budget: 1000 }], cleanup: () => client?.socket.destroy() }, (s) => {
  ;({ upstream, gw } = s)
  key = s.secrets[0]!
})

test('a client that hangs up while its let-go reads what arrived is billed all the output its provider sent', async () => {
  upstream.answer(openStream(events))
  client = pausedStreamClient(gw, key)
  // Let go at ~1 s (it took nothing for the idle timeout); the look at what arrived then waits up to 1 s more.
  await Bun.sleep(1_500)
  client.socket.destroy()
  const row = await settledStreamRow(gw, 'left-during-let-go')
  expect(row?.status).toBe('aborted')
  // Every byte of output the provider sent had reached the gateway: a token at most each, as for a client that
  // stayed until the look ended, or one that hung up before it.
  expect(row?.completion_tokens).toBeGreaterThanOrEqual(SENT_BYTES)
}, 30_000)
