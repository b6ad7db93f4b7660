/**
 * The gateway's stop cuts the provider calls still running once its grace is over, and settles each as its own
 * timeout does. A stream whose client has stopped reading has no read waiting on its provider: the stop's cut first
 * reads what has arrived of the provider's body, as the timeout's and the let-go's do, but for at most a quarter of
 * the second the stop then waits for the calls it cut to settle (CLOSING_MS). A provider that had finished is paid by
 * its usage, its row `ok`; one still at work pays the output that had reached the gateway, its row `error`; and
 * neither is left open for the sweeper to charge in full.
 */
import { afterAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { spawnGateway } from './support/gateway'
import { openAIEvent, openStream, scriptedProviders, sseResponse, startScriptedUpstream } from './support/scripted-upstream'

const PIECE = 'abcdefgh '.repeat(912) // ~8 KB of output per event
const PIECES = 600 // ~5 MB, sent at once: more than the sockets' buffers take while the client reads nothing
const SENT_BYTES = PIECES * PIECE.length
const OUTPUT_TOKENS = SENT_BYTES / 4
const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const output = [openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })]
for (let i = 0; i < PIECES; i++) output.push(openAIEvent({ ...base, choices: [{ index: 0, delta: { content: PIECE }, finish_reason: null }] }))
const finished = [
  ...output,
  openAIEvent({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
  openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: OUTPUT_TOKENS, total_tokens: 5 + OUTPUT_TOKENS } }),
  openAIEvent('[DONE]'),
]

const upstream = startScriptedUpstream()
const sockets: Socket[] = []
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await upstream.stop()
})

test('a stop cuts streams whose clients paused: a finished answer is paid by its usage, one still at work by what arrived', async () => {
  upstream.answer((call) => (call.body.messages[0].content === 'finished' ? sseResponse(finished) : openStream(output)()))
  const gw = await spawnGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } },
    env: { TOLLGATE_SHUTDOWN_GRACE_MS: '300' },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'pausers', max_budget: 100 })
    const { hostname, port } = new URL(gw.url)
    for (const content of ['finished', 'at work']) {
      const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content }] })
      const s = connect(Number(port), hostname)
      s.on('error', () => {})
      s.pause() // reads nothing of the stream, but stays connected
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      sockets.push(s)
    }
    for (let i = 0; i < 100 && upstream.calls.length < 2; i++) await Bun.sleep(20)
    // Both answers have reached the gateway, more than the paused clients' sockets take.
    await Bun.sleep(500)
    gw.proc.kill('SIGTERM')
    await gw.proc.exited
    expect(gw.output()).not.toContain('hold(s) open')
    const rows = gw.query<{ status: string; completion_tokens: number }>('SELECT status, completion_tokens FROM usage ORDER BY status DESC')
    expect(rows.map((r) => r.status)).toEqual(['ok', 'error'])
    expect(rows[0]!.completion_tokens).toBe(OUTPUT_TOKENS)
    expect(rows[1]!.completion_tokens).toBeGreaterThanOrEqual(SENT_BYTES)
    expect(gw.query('SELECT id FROM reservations')).toEqual([])
  } finally {
    await gw.stop()
  }
}, 30_000)
