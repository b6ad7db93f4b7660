/**
 * A long chat stream sent at once, and a raw-socket client that takes none of it until told: the pieces of the
 * suites on what a cut (the let-go, the call timeout, the stop) does with output the provider already sent.
 */
import { connect, type Socket } from 'node:net'
import type { TestGateway } from './gateway'
import { unchunked } from './raw-http'
import { openAIEvent } from './scripted-upstream'

const PIECE = 'abcdefgh '.repeat(912) // ~8 KB of output per event

/**
 * `pieces` content events of ~8 KB (600 by default: ~5 MB, far more than the sockets' buffers take while the client
 * reads nothing); `finished`: then the stop, a usage of a token per 4 bytes, and [DONE]. `sentBytes` of output in all.
 */
export function longChatAnswer({ pieces = 600, finished }: { pieces?: number; finished: boolean }) {
  const sentBytes = pieces * PIECE.length
  const outputTokens = sentBytes / 4
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
  const events = [openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })]
  for (let i = 0; i < pieces; i++) events.push(openAIEvent({ ...base, choices: [{ index: 0, delta: { content: PIECE }, finish_reason: null }] }))
  if (finished) {
    events.push(openAIEvent({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }))
    events.push(openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: outputTokens, total_tokens: 5 + outputTokens } }))
    events.push(openAIEvent('[DONE]'))
  }
  return { events, sentBytes, outputTokens }
}

/**
 * Sends a streamed chat request for `plain:m` on a raw socket that reads nothing (but stays connected) until
 * `readAll`, which takes the rest and gives the answer's body, its chunk framing removed.
 */
export function pausedStreamClient(gw: TestGateway, key: string): { socket: Socket; readAll(): Promise<string> } {
  const { hostname, port } = new URL(gw.url)
  const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] })
  const socket = connect(Number(port), hostname)
  let raw = ''
  socket.on('data', (chunk: Buffer) => void (raw += chunk.toString('latin1')))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.pause()
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  )
  return {
    socket,
    async readAll() {
      socket.resume()
      await closed
      return unchunked(raw)
    },
  }
}

/** The usage row of `userId`'s one request, once settled (waited for up to 5 s). */
export async function settledStreamRow(gw: TestGateway, userId: string) {
  const rows = () => gw.query<{ status: string; completion_tokens: number }>('SELECT status, completion_tokens FROM usage WHERE user_id = ?', userId)
  for (let i = 0; i < 100 && rows().length === 0; i++) {
    await Bun.sleep(50)
    await gw.settled()
  }
  return rows()[0]
}
