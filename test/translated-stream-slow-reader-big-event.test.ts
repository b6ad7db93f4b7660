/**
 * Red team jo: a translated stream hands its client everything one read converted to, however large, so a client
 * reading it steadily over a slow link is cut as one that took nothing of it.
 *
 * README (Capacity under load): "a pull hands at most 64 KB (one handing everything a read gave, an event of many
 * megabytes, took a slow link longer than the timeout to drain, and a client reading steadily was cut)". That bound
 * is in the meter (src/metering/metered-stream.ts MAX_HANDED_BYTES); a translated stream puts convertStream
 * (src/translate/convert-stream.ts) between the meter and the client, which reads the meter's 64 KB pieces until an
 * event converts and enqueues the whole conversion at once (convert-stream.ts:40, :71). The meter's idle-client rule
 * (`clientWait`) sees the client take bytes only when convertStream pulls it again, which it does once the whole
 * converted event has drained: a 12 MB event at ~2 MB/s is 6 s, past the idle timeout (2 s here, as in
 * test/stream-slow-steady-reader.test.ts, whose reader and load this is), and the steady client is let go `unread`.
 * The provider sends the big event at once and the rest of its answer an event every 20 ms (still generating), so the
 * cut's look at what has arrived (`endWithArrived`) does not find the end. Native /v1/chat/completions passes (the
 * client's longest pause 0.3 s); /v1/messages served by the same OpenAI-compatible provider (messagesViaOpenAI, Claude
 * Code's route to a non-Anthropic model), its client's longest pause 0.64 s, gets the `unread` error instead of
 * message_stop, its row `aborted`, billed every byte passed on as a token (13.0 M output tokens where the provider
 * stated 3.5 M for the whole answer).
 */
import { expect, test } from 'bun:test'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import type { TestGateway } from './support/gateway'
import { withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { finishedStream, PIECE, readSteadilyAs } from './support/steady-reader'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, upstream_idle_timeout_ms: 2_000 }, (started) => {
  ;({ upstream, gw } = started)
})

/** The stream read by the steady client; what it got, and the row of its user. */
async function readSteadily(user: string, events: string[], path: '/v1/messages' | '/v1/chat/completions') {
  // The big event at once, then the rest as a provider still generating sends it: an event every 20 ms.
  upstream.answer(() => {
    let i = 0
    const enc = new TextEncoder()
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i >= events.length) return c.close()
          if (i > 1) await Bun.sleep(20)
          c.enqueue(enc.encode(events[i++]!))
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  const body = { model: 'plain:m', max_tokens: 4096, stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] }
  const { gap, text, row } = await readSteadilyAs(gw, user, path, body, { 'anthropic-version': '2023-06-01' })
  return { gap, seen: { unreadError: text.includes(STREAM_ERRORS.unread), done: text.includes(path === '/v1/messages' ? 'event: message_stop' : 'data: [DONE]'), status: row?.status, billedOutput: row?.completion_tokens } }
}

test('a client reading steadily at ~2 MB/s a stream with a 12 MB event is not cut as unread, translated as native', async () => {
  const { events, outputTokens } = finishedStream(['abcdefgh '.repeat(1_333_336), ...Array.from({ length: 250 }, () => PIECE)])
  const native = await readSteadily('big-event-native-reader', events, '/v1/chat/completions')
  const translated = await readSteadily('big-event-translated-reader', events, '/v1/messages')
  console.log({ native, translated })
  expect({ native: native.seen, translated: translated.seen }).toEqual({
    native: { unreadError: false, done: true, status: 'ok', billedOutput: outputTokens },
    translated: { unreadError: false, done: true, status: 'ok', billedOutput: outputTokens },
  })
}, 90_000)
