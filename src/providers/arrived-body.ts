import { LookClock } from './look-clock'

/** A reader with Bun's `readMany`: every chunk already queued in one read. */
interface ManyReader {
  readMany(): Promise<Bun.ReadableStreamDefaultReadManyResult<Uint8Array>> | Bun.ReadableStreamDefaultReadManyResult<Uint8Array>
}

interface Arrived {
  chunks: Uint8Array[]
  /** The body's end was among them: the provider had sent all of it. */
  done: boolean
}

/** How long, and how much, `readArrived` reads. */
interface ArrivedBounds {
  withinMs: number
  /** Past this many bytes nothing more is taken (the chunk that crosses it is): what is left is no whole answer. */
  maxBytes: number
  /** A read that waits this long finds nothing more arrived: the look ends there, not at `withinMs`. */
  quietMs?: number
  /** The bounds are wall time, the process's waits for a core included (a look with a deadline of its own: the stop's). */
  wallTime?: boolean
}

/**
 * What has arrived of a provider's body, read on to its end when that comes within the bounds. Bun's fetch reads a
 * body on whatever its reader takes, so one whose provider has finished is all in memory, and comes at once (tens of
 * megabytes in a fraction of a second); a provider still at work makes the look last `withinMs` (or until a read has
 * waited `quietMs`), or until it has sent `maxBytes` more, and what it read is no whole answer (`done` false). A read
 * still waiting then, or chunks left past the bound, are left to the reader's cancel, which its caller owes. A read that
 * fails (the call aborted, the provider's connection broken) ends the look too: what was read before it had arrived,
 * and is returned all the same, no whole answer.
 *
 * The bounds count the time the process ran (LookClock), unless `wallTime`.
 */
export async function readArrived(reader: ManyReader, { withinMs, maxBytes, quietMs, wallTime = false }: ArrivedBounds): Promise<Arrived> {
  const chunks: Uint8Array[] = []
  let bytes = 0
  const clock = new LookClock(wallTime)
  try {
    for (;;) {
      let read = reader.readMany()
      if (read instanceof Promise) {
        // Cancelled once the look is over, a read still waiting fails or ends: nothing awaits it then.
        read.catch(() => {})
        const waitFrom = clock.ms
        const first = await Promise.race([read, clock.once((ms) => ms >= withinMs || (quietMs !== undefined && ms - waitFrom >= quietMs))])
        if (first === null) return { chunks, done: false }
        read = first
      }
      for (const chunk of read.value ?? []) {
        if (bytes >= maxBytes) return { chunks, done: false }
        chunks.push(chunk)
        bytes += chunk.byteLength
      }
      if (read.done) return { chunks, done: true }
    }
  } catch {
    return { chunks, done: false }
  } finally {
    clock.stop()
  }
}
