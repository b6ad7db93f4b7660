const TICK_MS = 10

/**
 * The clock of a look at what has arrived (readArrived): the time the process ran, counted a tick at a time, each at
 * most TICK_MS however late it came. On a loaded host the process waits its turn for a core: 270–360 ms passed between
 * two reads of an answer already in the sockets' buffers (six test files at once beside two busy loops), and a look in
 * wall time took that wait for its provider's quiet, or ran out, with part of a finished answer unread (paid by the
 * bytes read, up to twice its usage). Counting only the ticks, a wait the machine imposes adds a tick's worth, not the
 * provider's quiet. `wallTime` counts the waits too (a look with a deadline of its own).
 */
export class LookClock {
  private counted = 0
  private last = performance.now()
  private readonly timer: ReturnType<typeof setInterval>
  private due: { reached: (ms: number) => boolean; resolve: (value: null) => void } | null = null

  constructor(private readonly wallTime: boolean) {
    this.timer = setInterval(() => this.tick(), TICK_MS)
  }

  get ms(): number {
    return this.counted
  }

  /** Resolves null at the first tick at which `reached` holds of the time counted. */
  once(reached: (ms: number) => boolean): Promise<null> {
    return new Promise((resolve) => (this.due = { reached, resolve }))
  }

  stop() {
    clearInterval(this.timer)
  }

  private tick() {
    const now = performance.now()
    this.counted += this.wallTime ? now - this.last : Math.min(now - this.last, TICK_MS)
    this.last = now
    if (this.due?.reached(this.counted)) {
      this.due.resolve(null)
      this.due = null
    }
  }
}
