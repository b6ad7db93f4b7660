import { payloadTooLarge, requestTimeout } from './errors'

/**
 * The slowest pace a body may keep to on average, past its first idle timeout's worth of time: 64 kbit/s, far
 * below any uplink a client uploads from (a 25 MB file at that pace takes 53 minutes; the OpenAI SDK gives up at
 * 10), and what keeps a client that sends a byte just inside each idle timeout from holding its connection for days.
 */
export const MIN_BODY_BYTES_PER_SEC = 8 * 1024

/**
 * Reads a body to its end, refusing it once it passes `maxBytes` (413), or with a 408 once none of it has come
 * for `idleSec` or it falls behind MIN_BODY_BYTES_PER_SEC: with the listener's idle timeout off, these are what
 * bound a client that stops sending. Each chunk that arrives restarts the idle timer, so a slow upload that keeps
 * going is read whole. What is left of a refused body is cancelled, never buffered.
 */
export async function readBodyWithin(body: ReadableStream<Uint8Array>, maxBytes: number, idleSec: number): Promise<Buffer> {
  const reader = body.getReader()
  const start = performance.now()
  let stalled = false
  const idle = setTimeout(() => {
    stalled = true
    void reader.cancel()
  }, idleSec * 1000)
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      // The cancel ends the pending read as if the body had ended.
      if (stalled) throw requestTimeout(`The request body stopped arriving: none of it came for ${idleSec} s.`)
      if (done) return Buffer.concat(chunks, total)
      idle.refresh()
      total += value.byteLength
      if (total > maxBytes) {
        void reader.cancel()
        throw payloadTooLarge(maxBytes)
      }
      const behindBy = ((performance.now() - start) / 1000 - idleSec) * MIN_BODY_BYTES_PER_SEC - total
      if (behindBy > 0) {
        void reader.cancel()
        throw requestTimeout(`The request body arrived too slowly: under ${MIN_BODY_BYTES_PER_SEC} bytes a second on average.`)
      }
      chunks.push(value)
    }
  } finally {
    clearTimeout(idle)
  }
}
