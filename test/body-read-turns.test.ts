/**
 * `readBodyWithin` reads a body however small its chunks, and gives the request thread up for a turn of the event loop
 * (src/http/read-turn.ts) while it reads. Reads of chunks already taken in resolve one after another as microtasks:
 * without a turn given up, a 2 MB body sent a byte a chunk held a concurrent /health for 1.7 s. A body was refused
 * 400 `body_too_fragmented` past 4,096 chunks averaging under 512 bytes instead, which refused a real client: Python
 * `requests` streaming `json.JSONEncoder().iterencode(...)` sends each token as a chunk, ~13 bytes on average.
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

async function read(stream: ReadableStream<Uint8Array>) {
  const claim = new BodyReadBudget(64 * 1024 * 1024).claim('test')
  try {
    return (await readBodyWithin(stream, 25 * 1024 * 1024, 30, claim)).byteLength
  } finally {
    claim.release()
  }
}

const times = (n: number, size: number) => Array<number>(n).fill(size)

test('a body of 100,000 one-byte chunks is read whole', async () => {
  expect(await read(chunkedStream(times(100_000, 1)).stream)).toBe(100_000)
})

test('chunks of 13 bytes, past 4,096 of them (an iterencode body), are read whole', async () => {
  expect(await read(chunkedStream(times(20_000, 13)).stream)).toBe(260_000)
})

test('a timer due as reading starts runs while a body of 300,000 one-byte chunks is still being read', async () => {
  const { stream, pulled } = chunkedStream(times(300_000, 1))
  let pulledWhenTimerRan = -1
  setTimeout(() => {
    pulledWhenTimerRan = pulled()
  }, 0)
  const started = performance.now()
  expect(await read(stream)).toBe(300_000)
  console.log(`300,000 reads in ${(performance.now() - started).toFixed(0)} ms; the timer ran after ${pulledWhenTimerRan} of them`)
  expect(pulledWhenTimerRan).toBeGreaterThan(0)
  expect(pulledWhenTimerRan).toBeLessThan(300_000)
})
