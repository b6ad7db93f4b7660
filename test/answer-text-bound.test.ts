/**
 * `boundedText` (src/providers/answer-text.ts) reads an answer's text within a byte bound, counting the bytes fetch
 * gives (inflated, for a compressed body: test/json-answer-inflated-past-bound.alone.test.ts) and giving up past the bound. An uncompressed body whose declared length
 * is within the bound is read whole natively, as fetch reads no more of it than that length — but not one chunked
 * beside its length, whose chunks Bun reads whatever the length says (measured: `content-length: 10` beside 8 KiB
 * of chunks gave 8,192 characters).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { TCPSocketListener } from 'bun'
import { AnswerTooLarge, boundedText } from '../src/providers/answer-text'

const BOUND = 16 * 1024
const CHUNK = 'a'.repeat(1024)

/** What the provider sends, by path: head lines after the status line, and the body as written. */
const ANSWERS: Record<string, string> = {
  '/declared-within': `content-length: ${CHUNK.length}\r\n\r\n${CHUNK}`,
  '/declared-past': `content-length: ${4 * BOUND}\r\n\r\n${'a'.repeat(4 * BOUND)}`,
  '/declared-short-but-chunked': `content-length: 10\r\ntransfer-encoding: chunked\r\n\r\n${`400\r\n${CHUNK}\r\n`.repeat(32)}0\r\n\r\n`,
  '/chunked-within': `transfer-encoding: chunked\r\n\r\n${`400\r\n${CHUNK}\r\n`.repeat(4)}0\r\n\r\n`,
}

let server: TCPSocketListener

beforeAll(() => {
  server = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      data(socket, request) {
        const path = /^POST (\S+)/.exec(request.toString())![1]!
        socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n${ANSWERS[path]}`)
      },
    },
  })
})
afterAll(() => server.stop(true))

const answer = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST', body: '{}' })

test('a body whose declared length is within the bound is read whole', async () => {
  expect(await boundedText(await answer('/declared-within'), BOUND)).toBe(CHUNK)
})

test('a chunked body within the bound is read whole', async () => {
  expect(await boundedText(await answer('/chunked-within'), BOUND)).toBe(CHUNK.repeat(4))
})

test('a body declared past the bound is refused', async () => {
  await expect(boundedText(await answer('/declared-past'), BOUND)).rejects.toBeInstanceOf(AnswerTooLarge)
})

test('a body that declares a short length but is chunked past the bound is refused: its chunks are counted, not its length', async () => {
  await expect(boundedText(await answer('/declared-short-but-chunked'), BOUND)).rejects.toBeInstanceOf(AnswerTooLarge)
})
