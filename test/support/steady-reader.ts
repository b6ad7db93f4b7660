/**
 * A client that reads a stream slowly but without pause (a slow link: a small read every few milliseconds), for the
 * idle-reader tests: the finished chat stream it is sent, and the reader itself.
 */
import type { TestGateway } from './gateway'
import { unchunked } from './raw-http'
import { openAIEvent } from './scripted-upstream'

/** ~8 KB of output per event. */
export const PIECE = 'abcdefgh '.repeat(912)

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
/** A finished chat stream sent at once (a fast provider, a slower link): these deltas, stop, usage, [DONE]. */
export function finishedStream(contents: string[]): { events: string[]; outputTokens: number } {
  const outputTokens = contents.reduce((sum, c) => sum + c.length, 0) / 4
  return {
    outputTokens,
    events: [
      openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
      ...contents.map((content) => openAIEvent({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
      openAIEvent({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: outputTokens, total_tokens: 5 + outputTokens } }),
      openAIEvent('[DONE]'),
    ],
  }
}

/**
 * The client, in a Node process of its own: node:net with an 8 KB `onread` buffer takes at most 8 KB off the socket
 * per read, pausing between reads for as long as ~2 MB/s allows. Read that slowly, the kernel keeps its receive
 * buffer small (128 KB: it grows one only for a reader that takes much per read), so the gateway's writes meet TCP
 * backpressure, as a slow link's would. (Bun's sockets take up to 512 KB per read: their buffer grows to megabytes.)
 * Prints the text and the longest pause between two reads, in seconds.
 */
const READER = `
const { connect } = require('node:net')
const [port, host, request] = process.argv.slice(1)
const got = []
let gap = 0
let last = performance.now()
const socket = connect({
  port: Number(port),
  host,
  onread: {
    buffer: Buffer.alloc(8192),
    callback(bytes, buffer) {
      const now = performance.now()
      gap = Math.max(gap, now - last)
      last = now
      got.push(Buffer.from(buffer.subarray(0, bytes)))
      setTimeout(() => socket.resume(), bytes / 2000)
      return false
    },
  },
})
socket.on('end', () => process.stdout.write(JSON.stringify({ gap: gap / 1000, text: Buffer.concat(got).toString('latin1') })))
socket.on('error', (error) => {
  console.error(error)
  process.exit(1)
})
socket.write(request)
`

/**
 * A new user `user` (with $100) streams `body` from `path`, read by the steady client; the text it got (unchunked),
 * its longest pause between reads in seconds, and the user's usage row once settled.
 */
export async function readSteadilyAs(gw: TestGateway, user: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 100 })
  const { hostname, port } = new URL(gw.url)
  const json = JSON.stringify(body)
  const head = Object.entries({ Host: hostname, Authorization: `Bearer ${secret}`, ...headers, 'Content-Type': 'application/json', Connection: 'close', 'Content-Length': String(json.length) })
  const request = `POST ${path} HTTP/1.1\r\n${head.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${json}`
  const reader = Bun.spawn(['node', '-e', READER, port, hostname, request], { stdout: 'pipe' })
  const { gap, text: raw } = JSON.parse(await new Response(reader.stdout).text()) as { gap: number; text: string }
  await gw.settled()
  const row = gw.query<{ status: string; completion_tokens: number }>('SELECT status, completion_tokens FROM usage WHERE user_id = ?', user)[0]
  return { gap, text: unchunked(raw), row }
}
