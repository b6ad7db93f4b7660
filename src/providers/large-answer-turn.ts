/**
 * Whose turn it is to read a JSON answer past `ANSWER_MAX_BYTES` whole: one at a time in the process. Such an
 * answer is held several times its size while it is read, parsed, scanned and written again (a 240 MiB one took
 * the gateway from 362 to 1,462 MB), so two at once would double that; the second waits, its body unread (the
 * provider's socket back-pressured), until the first is done. Nothing below the floor ever takes a turn.
 */
let last: Promise<void> = Promise.resolve()

/**
 * One answer's claim on the turn: `take` waits for it (at most once), disposing gives it back, or nothing when it
 * was never taken. Made for every answer read whole, it costs nothing until an answer grows past the floor.
 */
export class LargeAnswerTurn {
  private release: (() => void) | null = null

  get taken(): boolean {
    return this.release !== null
  }

  async take(): Promise<void> {
    if (this.release) return
    let release!: () => void
    const done = new Promise<void>((resolve) => (release = resolve))
    const before = last
    last = before.then(() => done)
    this.release = release
    await before
  }

  /**
   * Gives the turn back after a full collection: the answer's bytes and parse are garbage now, and left to the
   * collector's own pace they were still held while the next one was read (two 120 MiB answers at once: +655 MB
   * against +530 for one; collected first, +516 against +424). It takes 50-100 ms beside the ~1 s the answer's parse held the thread.
   */
  [Symbol.dispose](): void {
    if (!this.release) return
    Bun.gc(true)
    this.release()
  }
}
