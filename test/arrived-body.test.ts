/**
 * `readArrived` reads what has arrived of a provider's body before a cut discards it, bounded in time and in bytes:
 * a provider still at work (or one sending without end) makes it stop at either bound, what it read no whole answer.
 */
import { expect, test } from 'bun:test'
import { readArrived } from '../src/providers/arrived-body'

const bytes = (n: number) => new Uint8Array(n)

/** A reader that gives these batches at once (already queued), then waits on a provider that sends nothing more, or ends. */
function readerOf(batches: Uint8Array[][], ends: boolean) {
  let next = 0
  return {
    readMany() {
      if (next < batches.length) return { value: batches[next++]!, done: false as const, size: 0 }
      if (ends) return { value: [], done: true as const, size: 0 }
      return new Promise<never>(() => {})
    },
  }
}

test('a body read to its end within the bounds is whole', async () => {
  const arrived = await readArrived(readerOf([[bytes(10), bytes(10)], [bytes(5)]], true), { withinMs: 1_000, maxBytes: 100 })
  expect({ bytes: arrived.chunks.reduce((n, c) => n + c.byteLength, 0), done: arrived.done }).toEqual({ bytes: 25, done: true })
})

test('a provider still at work: what arrived within the time, no whole answer', async () => {
  const started = performance.now()
  const arrived = await readArrived(readerOf([[bytes(10)]], false), { withinMs: 50, maxBytes: 100 })
  expect({ chunks: arrived.chunks.length, done: arrived.done }).toEqual({ chunks: 1, done: false })
  expect(performance.now() - started).toBeLessThan(1_000)
})

test('past the byte bound nothing more is taken, even with the body’s end already there', async () => {
  const arrived = await readArrived(readerOf([[bytes(40), bytes(40)], [bytes(40), bytes(40)]], true), { withinMs: 1_000, maxBytes: 100 })
  // The chunk that crosses the bound is taken; the one after it, and the end, are not.
  expect({ bytes: arrived.chunks.reduce((n, c) => n + c.byteLength, 0), done: arrived.done }).toEqual({ bytes: 120, done: false })
})

test('a read that waits the quiet gap ends the look there: nothing more had arrived', async () => {
  const started = performance.now()
  const arrived = await readArrived(readerOf([[bytes(10)], [bytes(10)]], false), { withinMs: 5_000, maxBytes: 100, quietMs: 20 })
  expect({ bytes: arrived.chunks.reduce((n, c) => n + c.byteLength, 0), done: arrived.done }).toEqual({ bytes: 20, done: false })
  expect(performance.now() - started).toBeLessThan(1_000)
})

test('a read that fails (the call aborted) ends the look with what was read before it', async () => {
  let next = 0
  const reader = {
    readMany() {
      if (next++ === 0) return { value: [bytes(10), bytes(10)], done: false as const, size: 0 }
      return Promise.reject(new DOMException('client', 'AbortError'))
    },
  }
  const arrived = await readArrived(reader, { withinMs: 1_000, maxBytes: 100 })
  expect({ bytes: arrived.chunks.reduce((n, c) => n + c.byteLength, 0), done: arrived.done }).toEqual({ bytes: 20, done: false })
})
