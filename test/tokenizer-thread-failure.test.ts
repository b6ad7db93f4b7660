/**
 * The token counter runs on a thread of its own (src/metering/tokenizer-thread.ts). A thread that fails to start or
 * ends must not leave the counts waiting on it unanswered: they are refused (503 tokenizer_unavailable, in the
 * route's error shape as every GatewayError is), and the next count starts a new thread.
 */
import { expect, test } from 'bun:test'
import { encode } from 'gpt-tokenizer/encoding/o200k_base'
import { GatewayError } from '../src/http/errors'
import { TokenizerThread } from '../src/metering/tokenizer-thread'

const refusal = (count: Promise<number>) =>
  count.then(
    (tokens) => ({ tokens }),
    (error: GatewayError) => ({ status: error.status, code: error.code }),
  )
const UNAVAILABLE = { status: 503, code: 'tokenizer_unavailable' }

test('a tokenizer thread whose module cannot load refuses the count with a 503 rather than hang', async () => {
  const thread = new TokenizerThread(new URL('./support/no-such-tokenizer-worker.ts', import.meta.url).href)
  expect(await refusal(thread.count(['hello world']))).toEqual(UNAVAILABLE)
  // Each count tries a new thread; none is left waiting.
  expect(await refusal(thread.count(['hello again']))).toEqual(UNAVAILABLE)
}, 20_000)

test('a tokenizer thread that ends refuses the counts in flight, and the next count starts a new one', async () => {
  const thread = new TokenizerThread(new URL('./support/dying-tokenizer-worker.ts', import.meta.url).href)
  expect(await thread.count(['hello world', 'and more'])).toBe(encode('hello world').length + encode('and more').length)

  // A long count is in flight (it lets other messages in between its pieces) when the thread ends.
  const long = refusal(thread.count(['word '.repeat(200_000)]))
  const dying = refusal(thread.count(['die']))
  expect(await dying).toEqual(UNAVAILABLE)
  expect(await long).toEqual(UNAVAILABLE)

  expect(await thread.count(['hello world'])).toBe(encode('hello world').length)
}, 30_000)

test('a count whose client went away is dropped at once (499), and the thread answers the next count', async () => {
  const thread = new TokenizerThread()
  const gone = new AbortController()
  const long = refusal(thread.count(['word '.repeat(100_000)], gone.signal))
  gone.abort()
  expect(await long).toEqual({ status: 499, code: 'client_closed_request' })
  expect(await refusal(thread.count(['sent after it left'], gone.signal))).toEqual({ status: 499, code: 'client_closed_request' })
  expect(await thread.count(['hello world'])).toBe(encode('hello world').length)
}, 30_000)

test('the thread itself stops a cancelled count: it never answers it, and answers the count sent after it', async () => {
  const worker = new Worker(new URL('../src/metering/tokenizer-worker.ts', import.meta.url).href)
  const answered: number[] = []
  const short = new Promise<void>((resolve) => {
    worker.onmessage = ({ data }: MessageEvent<{ id: number }>) => {
      answered.push(data.id)
      if (data.id === 2) resolve()
    }
  })
  // A long count (many pieces, the thread yielding between them), its cancel, then a short count.
  worker.postMessage({ id: 1, texts: ['漢字テキスト'.repeat(30_000)] })
  worker.postMessage({ id: 1, cancel: true })
  worker.postMessage({ id: 2, texts: ['hello world'] })
  await short
  await Bun.sleep(200)
  worker.terminate()
  expect(answered).toEqual([2])
}, 30_000)
