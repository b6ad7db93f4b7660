import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { connect } from 'node:net'
import { scriptedGateway, sseResponse, jsonResponse, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'
import { waitFor } from './support/wait-for'

/**
 * Mutation guard: a client whose connection is already gone when its handler reaches the provider call
 * (it wrote the whole request and hung up) is never called for: the provider gets nothing, so the hold taken for it
 * is released ($0, row `aborted`: call.ts `callUpstream`'s first cut check), not left to the handler's `using`
 * disposal, which charges a hold still open in full. To have the client gone before the call, another connection
 * (an operator's sqlite3 shell, a backup) holds the SQLite file's write lock briefly: the hold's write waits for it on
 * the event loop, well within the busy timeout, while the client hangs up.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
const USER = 'team-kw-gone'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
  upstream.answer((call) =>
    call.body.stream
      ? sseResponse([`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } })}\n\n`, 'data: [DONE]\n\n'])
      : jsonResponse({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } }),
  )
})
afterAll(() => stop())

/** Writes the whole request on its own connection and hangs up at once, reading nothing. */
function sendAndHangUp(stream: boolean): Promise<void> {
  const body = JSON.stringify({ model: 'plain:m', stream, max_tokens: 100, messages: [{ role: 'user', content: 'Say something' }] })
  const port = new URL(gw.url).port
  const request =
    `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${secret}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => {
      socket.end(request, () => socket.destroy())
    })
    socket.on('close', () => resolve())
    socket.on('error', () => resolve())
  })
}

const rows = () => gw.query<{ cost: number; status: string }>(`SELECT cost, status FROM usage WHERE user_id = '${USER}' ORDER BY id`)

/** Takes the file's write lock from another connection now, and lets it go after `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  const other = new Database(gw.dbPath)
  other.exec('BEGIN IMMEDIATE')
  return Bun.sleep(ms).then(() => {
    other.exec('ROLLBACK')
    other.close()
  })
}

for (const stream of [false, true]) {
  test(`${stream ? 'stream' : 'JSON'}: a client gone while its hold waited is not called for, and its hold is released`, async () => {
    await gw.settled()
    const before = rows().length
    const calls = upstream.calls.length
    const lock = holdWriteLock(400)
    await sendAndHangUp(stream)
    await lock
    await waitFor(5_000, () => rows().length > before && gw.query('SELECT count(*) AS n FROM reservations')[0].n === 0)
    await gw.settled()
    expect(upstream.calls.length).toBe(calls)
    expect(rows().slice(before).map((r) => ({ cost: r.cost, status: r.status }))).toEqual([{ cost: 0, status: 'aborted' }])
    const user = (await gw.admin('GET', `/v1/users/${USER}`)).body
    expect({ reserved: user.reserved, spend: user.spend }).toEqual({ reserved: 0, spend: 0 })
  }, 15_000)
}
