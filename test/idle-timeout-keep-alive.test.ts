/**
 * The listener's idle timeout is switched off while an inference call works (it may take minutes), and Bun
 * sets it on the request's *connection*: whichever way the request ends, the connection must get the
 * server's own idle timeout back, or a keep-alive client (a pool of SDK clients) holds idle connections,
 * and their file descriptors, for as long as it likes. A JSON answer and an error get it back with the
 * response; a stream when it ends, so that a provider pausing longer than the idle timeout between chunks
 * (within the upstream idle timeout) does not have its stream cut.
 *
 * Each case is a raw keep-alive connection (Bun.connect): one request, its whole response read, then the
 * connection left idle. The gateway's idle timeout is 2 s (Bun checks timeouts every few seconds).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const IDLE_SEC = 2
/** Long enough for Bun to have closed a connection idle past 2 s; far short of the default 30 s. */
const CLOSED_WITHIN_MS = 9_000
/** Longer than the idle timeout and than Bun's granularity for it: the connection would have been closed. */
const PROVIDER_PAUSE_MS = 7_000

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let broke: string

const chunk = (content: string) => openAIEvent({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })
const streamEnd = [
  openAIEvent({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
  openAIEvent({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }),
  openAIEvent('[DONE]'),
]

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(({ path, body }) => {
    if (path === '/v1/audio/speech') return new Response(new Uint8Array(4_000).fill(7), { headers: { 'content-type': 'audio/mpeg' } })
    if (path === '/v1/messages/count_tokens') return jsonResponse({ input_tokens: 3 })
    if (!body.stream)
      return jsonResponse({
        id: 'c', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
      })
    const pause = body.messages?.[0]?.content === 'pause'
    const encoder = new TextEncoder()
    return new Response(
      new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(encoder.encode(chunk('first ')))
          if (pause) await Bun.sleep(PROVIDER_PAUSE_MS)
          c.enqueue(encoder.encode(chunk('second')))
          for (const e of streamEnd) c.enqueue(encoder.encode(e))
          c.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  gw = await startTestGateway({
    idleTimeoutSec: IDLE_SEC,
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'pooled', max_budget: 10 })).secret
  broke = (await gw.userWithKey({ id: 'broke', max_budget: 0 })).secret
})

afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

/** A whole HTTP/1.1 response in `text`: its headers, and a body of its Content-Length or up to the last chunk. */
function complete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return false
  const head = text.slice(0, end).toLowerCase()
  if (/\r\ntransfer-encoding: chunked/.test(head)) return text.endsWith('\r\n0\r\n\r\n')
  const length = /\r\ncontent-length: (\d+)/.exec(head)
  return length ? Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(length[1]) : true
}

interface Exchange {
  response: string
  /** When the server closed the idle connection, in ms after the response was complete; null when it did not. */
  closedAfterMs: number | null
}

/** Sends one request on a keep-alive connection, reads the whole response, then leaves the connection idle. */
async function idleAfter(method: string, path: string, key: string, body?: unknown): Promise<Exchange> {
  const { port } = new URL(gw.url)
  const payload = body === undefined ? '' : JSON.stringify(body)
  let received = ''
  let completedAt = 0
  let closedAt = 0
  const done = Promise.withResolvers<void>()
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port: Number(port),
    socket: {
      data(_s, data) {
        received += Buffer.from(data).toString('latin1')
        if (!completedAt && complete(received)) completedAt = performance.now()
      },
      close() {
        closedAt = performance.now()
        done.resolve()
      },
      error() {},
    },
  })
  socket.write(
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
      (payload ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n` : '') +
      `\r\n${payload}`,
  )
  const deadline = performance.now() + 60_000
  while (!completedAt && !closedAt && performance.now() < deadline) await Bun.sleep(20)
  await Promise.race([done.promise, Bun.sleep(CLOSED_WITHIN_MS)])
  const closedByServer = closedAt
  if (!closedByServer) socket.end()
  return { response: received, closedAfterMs: closedByServer && completedAt ? Math.round(closedByServer - completedAt) : null }
}

const chat = (content: string, stream = false) => ({ model: 'plain:m', stream, messages: [{ role: 'user', content }] })

describe('a keep-alive connection gets the idle timeout back once its request is answered', () => {
  test('after a JSON answer, a refusal, a completed stream, audio, count_tokens and a pass-through: closed when idle', async () => {
    const [plain, json, refused, stream, speech, counted, passThrough] = await Promise.all([
      idleAfter('GET', '/v1/models', secret),
      idleAfter('POST', '/v1/chat/completions', secret, chat('hi')),
      idleAfter('POST', '/v1/chat/completions', broke, chat('hi')),
      idleAfter('POST', '/v1/chat/completions', secret, chat('hi', true)),
      idleAfter('POST', '/v1/audio/speech', secret, { model: 'plain:tts', input: 'hello', voice: 'alloy' }),
      idleAfter('POST', '/v1/messages/count_tokens', secret, { model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] }),
      idleAfter('GET', '/v1/responses/resp_nobody_made', secret),
    ])
    // A route that never switched the idle timeout off: how the others must behave.
    expect(plain.response.slice(0, 12)).toBe('HTTP/1.1 200')
    expect(json.response.slice(0, 12)).toBe('HTTP/1.1 200')
    expect(refused.response.slice(0, 12)).toBe('HTTP/1.1 402')
    expect(stream.response.slice(0, 12)).toBe('HTTP/1.1 200')
    expect(stream.response).toContain('[DONE]')
    expect(speech.response.slice(0, 12)).toBe('HTTP/1.1 200')
    expect(counted.response.slice(0, 12)).toBe('HTTP/1.1 200')
    expect(passThrough.response.slice(0, 12)).toBe('HTTP/1.1 404')
    const closed = { plain, json, refused, stream, speech, counted, passThrough }
    const leftOpen = Object.entries(closed).filter(([, exchange]) => exchange.closedAfterMs === null).map(([name]) => name)
    expect(leftOpen).toEqual([])
  }, 30_000)

  test('a stream whose provider pauses longer than the idle timeout is not cut, and is closed when idle after it ends', async () => {
    const paused = await idleAfter('POST', '/v1/chat/completions', secret, chat('pause', true))
    expect(paused.response.slice(0, 12)).toBe('HTTP/1.1 200')
    expect(paused.response).toContain('second')
    expect(paused.response).toContain('[DONE]')
    expect(paused.closedAfterMs).not.toBeNull()
  }, 30_000)
})
