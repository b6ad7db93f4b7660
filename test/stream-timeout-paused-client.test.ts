import { expect, test } from 'bun:test'
import { connect } from 'node:net'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import { startTestGateway } from './support/gateway'
import { unchunked } from './support/raw-http'
import { openAIEvent, openStream, scriptedProviders, startScriptedUpstream } from './support/scripted-upstream'

/**
 * The upstream timeout ends a stream even while its client has stopped reading. The timeout aborts the
 * provider call; a metered stream whose client reads nothing (no read in flight, its backpressure stopped
 * ours) settles then by the facts so far, once it has read what had arrived of the provider's body (at most
 * a second more), the output it passed on and read counted, and queues the error event the client gets when
 * it reads again. Without that, the hold lived as long as the connection: past the TTL the sweeper charged it
 * as `expired` (only the hold) while the client was still given megabytes of output, and the request's own
 * settlement was dropped. (With the defaults, TTL 900 s and timeout 600 s, a client stalled for 15 minutes, or
 * a peer that vanished while the kernel retries, did the same.) The provider here is still at work when the
 * timeout comes (its stream stays open): one that had finished is paid by its usage, its answer whole
 * (stream-timeout-cut-finished-usage.test.ts).
 */
const PIECE = 'abcdefgh '.repeat(910) // ~8 KB of output per chunk
const PIECES = 2_000 // ~16 MB in all: far more than the sockets' buffers hold

test('a stream whose client pauses reading past the TTL is settled by its own outcome, never swept as expired while it runs', async () => {
  const upstream = startScriptedUpstream()
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
  const events = [openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })]
  for (let i = 0; i < PIECES; i++) events.push(openAIEvent({ ...base, choices: [{ index: 0, delta: { content: PIECE }, finish_reason: null }] }))
  upstream.answer(openStream(events))
  // TTL 3 s > upstream timeout 1.5 s and the cut's read of what arrived (1 s): the startup warning's condition
  // holds. Output at $2 per million tokens.
  const gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      reservation_ttl_sec: 3,
      upstream_timeout_ms: 1_500,
    },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'pauser', max_budget: 10 })
    // No max_tokens, cap-output off (the default): the hold is the input plus the default 4096 output tokens.
    const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
    const chunks: Buffer[] = []
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    const firstData = new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => {})
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secret}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
    await firstData
    // The client stops reading (a slow network, a busy consumer) for longer than the hold's TTL.
    socket.pause()
    await Bun.sleep(6_000)
    const whilePaused = gw.query<{ status: string }>('SELECT status, cost, reserved FROM usage')
    socket.resume()
    await closed
    await gw.settled()
    const raw = Buffer.concat(chunks).toString('latin1')
    expect(raw.slice(0, 12)).toBe('HTTP/1.1 200')
    const text = unchunked(raw)
    const rows = gw.query('SELECT status, cost, reserved, completion_tokens FROM usage')
    // The output the client was given: every content delta's UTF-8 bytes.
    let deliveredBytes = 0
    for (const m of text.matchAll(/"delta":\{"content":("(?:[^"\\]|\\.)*")/g)) deliveredBytes += Buffer.byteLength(JSON.parse(m[1]!))
    expect(deliveredBytes).toBeGreaterThan(1_000_000)
    // Nothing was swept while the client was still connected and being served.
    expect(whilePaused.filter((r) => r.status === 'expired')).toEqual([])
    expect(rows.length).toBe(1)
    expect(rows[0].status).not.toBe('expired')
    // Cut by the timeout after some output, as when its client reads: a failed stream, and the client is told so.
    expect(rows[0].status).toBe('error')
    expect(text).toContain(STREAM_ERRORS.failed)
    // The request's own settlement: the output the provider sent, all of which reached the gateway (more than the
    // client was given), at 2 micro-USD a token (a token per byte at most).
    expect(rows[0].completion_tokens).toBe(PIECES * PIECE.length)
    expect(rows[0].cost).toBeGreaterThanOrEqual(PIECES * PIECE.length * 2)
  } finally {
    await gw.stop()
    await upstream.stop()
  }
}, 30_000)
