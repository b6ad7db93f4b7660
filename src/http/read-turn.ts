/**
 * The reads of a body after which it gives the request thread up for a turn of the event loop. Reads of chunks Bun
 * has already taken in resolve one after another as microtasks, never passing through the event loop: a 2 MB body sent
 * a byte a chunk (2 million reads) held a concurrent /health for 1.7 s, where issue 15 allows a few ms. Such a read
 * costs the thread ~0.5-1 µs, so 1,024 of them about 1 ms; a body in the chunks real clients send (8-64 KB) takes a
 * few dozen reads and never gives a turn up, a 270 KB one streamed from Python's json iterencode (13-byte chunks)
 * about 20. Counted rather than timed: time also passes while a read waits for the network, which holds no one.
 */
const READS_PER_TURN = 1024

/** A turn of the event loop (a macrotask): timers, sockets and other requests run before it resolves. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Tells a read loop when it should give the thread up for a turn (`nextTurn`). Asked once a read, it answers from a
 * count alone, so a read that need not wait costs no promise.
 */
export class ReadTurn {
  private reads = 0

  /** Whether READS_PER_TURN reads have passed since the thread was last given up; if so, counts it as given up now. */
  due(): boolean {
    if (++this.reads < READS_PER_TURN) return false
    this.reads = 0
    return true
  }
}
