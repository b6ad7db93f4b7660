import type { BodyClaim } from './body-budget'
import { CoalescedChunks } from './coalesced-chunks'
import { payloadTooLarge, requestTimeout } from './errors'
import { nextTurn, ReadTurn } from './read-turn'

/**
 * The slowest pace a body may keep to, judged over its last few idle timeouts (`PaceWindow`): 64 kbit/s,
 * far below any uplink a client uploads from (a 25 MB file at that pace takes 53 minutes; the OpenAI SDK gives up
 * at 10), and what keeps a client that sends a byte just inside each idle timeout from holding its connection, and
 * what it already sent, for days.
 */
const MIN_BODY_BYTES_PER_SEC = 8 * 1024

/**
 * A body's pace over its recent past, never since its start: a body sent fast at first and then a byte at a time
 * would otherwise stay "ahead" of the floor for as long as its burst bought (24 MB at 8 KiB/s: 50 minutes, its
 * 24 MB held all along). The window starts at the mark before last, which moves on once an idle timeout has passed
 * since the last: so it spans one to three idle timeouts, the first of them a grace for a slow start or a pause.
 */
class PaceWindow {
  private earlier: { at: number; total: number }
  private later: { at: number; total: number }

  constructor(private readonly idleSec: number) {
    this.earlier = this.later = { at: performance.now(), total: 0 }
  }

  /** Whether a body that has come to `total` bytes by now is behind MIN_BODY_BYTES_PER_SEC over the window. */
  behind(total: number): boolean {
    const now = performance.now()
    if (now - this.later.at >= this.idleSec * 1000) {
      this.earlier = this.later
      this.later = { at: now, total }
    }
    return ((now - this.earlier.at) / 1000 - this.idleSec) * MIN_BODY_BYTES_PER_SEC > total - this.earlier.total
  }
}

/**
 * Reads a body to its end, refusing it once it passes `maxBytes` (413), or with a 408 once none of it has come
 * for `idleSec` or it falls behind MIN_BODY_BYTES_PER_SEC: with the listener's idle timeout off, these are what
 * bound a client that stops sending. Each chunk that arrives restarts the idle timer, so a slow upload that keeps
 * going is read whole. What has come is covered by `claim`, which refuses it 503 past the process's budget for
 * bodies being read. What is left of a refused body is cancelled, never buffered. However small its chunks, it gives
 * the request thread up for a turn each READS_PER_TURN reads (read-turn), so that other requests never wait behind it.
 */
export async function readBodyWithin(body: ReadableStream<Uint8Array>, maxBytes: number, idleSec: number, claim: BodyClaim): Promise<Buffer> {
  const reader = body.getReader()
  const pace = new PaceWindow(idleSec)
  let stalled = false
  const idle = setTimeout(() => {
    stalled = true
    void reader.cancel()
  }, idleSec * 1000)
  const chunks = new CoalescedChunks()
  const turn = new ReadTurn()
  try {
    for (;;) {
      if (turn.due()) await nextTurn()
      const { done, value } = await reader.read()
      // The cancel ends the pending read as if the body had ended.
      if (stalled) throw requestTimeout(`The request body stopped arriving: none of it came for ${idleSec} s.`)
      if (done) return chunks.joined()
      idle.refresh()
      const total = chunks.total + value.byteLength
      if (total > maxBytes) {
        void reader.cancel()
        throw payloadTooLarge(maxBytes)
      }
      try {
        claim.cover(total)
      } catch (busy) {
        void reader.cancel()
        throw busy
      }
      if (pace.behind(total)) {
        void reader.cancel()
        throw requestTimeout(`The request body arrived too slowly: under ${MIN_BODY_BYTES_PER_SEC} bytes a second of late.`)
      }
      chunks.push(value)
    }
  } finally {
    clearTimeout(idle)
  }
}
