import { expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startTestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream } from './support/scripted-upstream'

/**
 * Speech's audio is relayed (`relayBody`, src/providers/call.ts) after its hold is settled, and keeps its upstream
 * slot (max_upstream_concurrency) and the connection's idle timeout off until it ends. A client that stops reading
 * makes no read, so the whole-call timeout's abort must end the relay by itself (`endWhenAbortedUnread`, as the
 * metered streams do): the slot goes back, the connection gets its idle timeout back, and a stop no longer waits on
 * it. Before, all three lasted as long as the client kept its socket: N paused speech clients took every slot, and
 * every inference call got 503. Here: limit 1, upstream timeout 1.5 s, idle timeout 1 s; a speech client pauses.
 */
const CHUNK = new Uint8Array(64 * 1024).fill(7)
const CHUNKS = 256 // 16 MB of "audio": far more than the sockets' buffers hold

test('speech whose client stops reading: once the upstream timeout has ended the provider call, its upstream slot is back', async () => {
  const upstream = startScriptedUpstream()
  upstream.answer((call) => {
    if (call.path === '/v1/audio/speech') {
      let sent = 0
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            if (sent++ < CHUNKS) c.enqueue(CHUNK)
            // …and then the provider keeps the connection open.
          },
        }),
        { headers: { 'content-type': 'audio/mpeg' } },
      )
    }
    return jsonResponse({ id: 'c', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })
  })
  const gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'plain:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 } },
      max_upstream_concurrency: 1,
      reservation_ttl_sec: 3,
      upstream_timeout_ms: 1_500,
      metrics_enabled: true,
      shutdown_grace_ms: 10_000,
    },
    idleTimeoutSec: 1,
  })
  let stopped = false
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
  try {
    const { secret } = await gw.userWithKey({ id: 'tts-paused', max_budget: 10 })
    const body = JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy' })
    const firstData = new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.on('error', () => {})
    socket.write(
      `POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
    await firstData
    // The client stops reading (a busy consumer, a vanished peer the kernel still retries).
    socket.pause()
    // Well past the upstream timeout (1.5 s), which has aborted the provider's call.
    await Bun.sleep(4_000)
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
    const inFlight = Number(/tollgate_upstream_in_flight (\d+)/.exec(metrics)![1])
    const chat = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    await chat.text()
    // Before the fix: { inFlight: 1, chatStatus: 503 } for as long as the paused client kept its socket.
    expect({ inFlight, chatStatus: chat.status }).toEqual({ inFlight: 0, chatStatus: 200 })
    // The idle timeout, back on, has closed the paused connection: nothing is under way, the stop does not wait out its grace (10 s).
    const stopStarted = Date.now()
    await gw.stop()
    stopped = true
    expect(Date.now() - stopStarted).toBeLessThan(3_000)
  } finally {
    socket.destroy()
    if (!stopped) await gw.stop()
    await upstream.stop()
  }
}, 30_000)
