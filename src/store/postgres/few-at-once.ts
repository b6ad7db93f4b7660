/**
 * Runs the tasks it is given, whenever they come, at most `limit` at a time and in the order given: tasks that each
 * hold a pooled connection for long (a wait for a row held elsewhere) take no more than a few of the pool's, however
 * many come at once. A task's failure is its own to handle: it is not told here.
 */
export class FewAtOnce {
  private readonly queue: Array<() => Promise<void>> = []
  private running = 0
  private idleWaiters: Array<() => void> = []

  constructor(private readonly limit: number) {}

  run(task: () => Promise<void>): void {
    this.queue.push(task)
    this.startNext()
  }

  /** Resolves once every task given so far, and any given meanwhile, has ended. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private startNext() {
    while (this.running < this.limit && this.queue.length > 0) {
      const task = this.queue.shift()!
      this.running++
      void task()
        .catch(() => {})
        .finally(() => {
          this.running--
          this.startNext()
        })
    }
    if (this.running > 0 || this.queue.length > 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}
