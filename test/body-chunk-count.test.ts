/**
 * The bound on a body's chunks (src/http/chunk-count.ts) where `readBodyWithin` applies it: a body may come in up to
 * 4,096 chunks of any size, and past them in chunks averaging 512 bytes or more; past both it is refused 400
 * `body_too_fragmented`, its stream cancelled, before any more of it is read.
 */
import { expect, test } from 'bun:test'
import { BodyReadBudget } from '../src/http/body-budget'
import { readBodyWithin } from '../src/http/body-read'

/** A stream of `sizes.length` chunks of those sizes, and how many of them were pulled. */
function chunkedStream(sizes: number[]) {
  let pulled = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === sizes.length) return controller.close()
      controller.enqueue(new Uint8Array(sizes[pulled++]!).fill(120))
    },
  })
  return { stream, pulled: () => pulled }
}

async function read(sizes: number[]) {
  const { stream, pulled } = chunkedStream(sizes)
  const claim = new BodyReadBudget(64 * 1024 * 1024).claim('test')
  try {
    const body = await readBodyWithin(stream, 25 * 1024 * 1024, 30, claim)
    return { bytes: body.byteLength, pulled: pulled() }
  } catch (error) {
    return { refused: (error as { code?: string }).code, pulled: pulled() }
  } finally {
    claim.release()
  }
}

const times = (n: number, size: number) => Array<number>(n).fill(size)

test('4,096 one-byte chunks are read', async () => {
  expect(await read(times(4096, 1))).toEqual({ bytes: 4096, pulled: 4096 })
})

test('a 4,097th one-byte chunk is refused, the rest never read', async () => {
  const { refused, pulled } = await read(times(100_000, 1))
  expect(refused).toBe('body_too_fragmented')
  // The stream may have one chunk pulled ahead of the read.
  expect(pulled).toBeLessThanOrEqual(4099)
})

test('chunks averaging 512 bytes are read, however many', async () => {
  expect(await read(times(20_000, 512))).toEqual({ bytes: 20_000 * 512, pulled: 20_000 })
})

test('chunks averaging 511 bytes are refused past 4,096 of them', async () => {
  expect((await read(times(20_000, 511))).refused).toBe('body_too_fragmented')
})

test('small chunks between large ones are read while their average stays above 512 bytes', async () => {
  const sizes = Array.from({ length: 10_000 }, (_, i) => (i % 100 === 0 ? 65_536 : 1))
  expect(await read(sizes)).toEqual({ bytes: 100 * 65_536 + 9_900, pulled: 10_000 })
})
