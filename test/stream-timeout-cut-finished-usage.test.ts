/**
 * A client let go for taking nothing has what arrived of its provider's body read first, and when the provider had
 * finished, the stream is paid by its usage (SPEC §6: "usage if known"), row `ok`, the rest of the answer queued for
 * it (stream-let-go-usage-buffered.test.ts). The same stream cut instead by the whole call's timeout
 * (TOLLGATE_UPSTREAM_TIMEOUT_MS below the idle timeout: an operator's 60 s call limit under the 120 s idle default,
 * or a steady slow reader of a long answer) is read the same way before the cut: that usage is in the gateway's
 * memory. Before, the timeout cancelled the body unread, and the stream was billed every byte it had passed on as a
 * token (about 4× the usage here), row `error`, the client told the provider failed though it had answered whole.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { longChatAnswer, pausedStreamClient, settledStreamRow } from './support/paused-reader'
import { sseResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const { events, outputTokens: OUTPUT_TOKENS } = longChatAnswer({ finished: true })

let upstream: ScriptedUpstream
let gw: TestGateway
let key: string
let client: ReturnType<typeof pausedStreamClient> | undefined

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      // The whole call's limit below the idle timeout (its default, 120 s): the timeout, not the let-go, ends it.
      upstream_timeout_ms: 1_500,
    },
  })
  key = (await gw.userWithKey({ id: 'timed-out-reader', max_budget: 100 })).secret
})
afterAll(async () => {
  client?.socket.destroy()
  await gw?.stop()
  await upstream?.stop()
})

test('a stream cut by the call timeout after its provider finished is paid by the usage in the gateway’s buffer', async () => {
  upstream.answer(() => sseResponse(events))
  client = pausedStreamClient(gw, key)
  const row = await settledStreamRow(gw, 'timed-out-reader')
  const text = await client.readAll()
  expect({ status: row?.status, billedOutput: row?.completion_tokens, done: text.includes('data: [DONE]'), failedError: text.includes(STREAM_ERRORS.failed) }).toEqual({
    status: 'ok',
    billedOutput: OUTPUT_TOKENS,
    done: true,
    failedError: false,
  })
}, 30_000)
