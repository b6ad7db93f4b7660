import { yieldToRequests } from '../db/maintenance'
import { logBackgroundFailure } from '../log/background-failure'
import type { Ledger } from './ledger'

/**
 * Settles holds that outlived their TTL (a crashed process, a lost task) at their full amount, at
 * startup and every minute. Several processes may sweep the same database: a hold settles only once. A
 * backlog (thousands of holds after a crash) goes in small batches, handing the thread to requests between them.
 */
export function startSweeper(ledger: Ledger, everyMs = 60_000, log: (n: number) => void = logSweep): { stop(): void } {
  let stopped = false
  let running = false
  const run = async () => {
    if (running) return
    running = true
    let total = 0
    try {
      for (;;) {
        const n = await ledger.sweepBatch()
        total += n
        if (n < ledger.sweepStep || stopped) break
        await yieldToRequests()
        if (stopped) break
      }
    } catch (error) {
      logBackgroundFailure('sweeper', error, `its next run is in ${Math.round(everyMs / 1000)} s`)
    } finally {
      running = false
      // Each batch commits on its own: what the batches before a failing one charged is charged, and reported.
      if (total > 0) log(total)
    }
  }
  void run()
  const timer = setInterval(run, everyMs)
  timer.unref()
  return {
    stop: () => {
      stopped = true
      clearInterval(timer)
    },
  }
}

export const logSweep = (n: number) => console.warn(`[tollgate] sweeper settled ${n} expired hold(s) at their full amount`)
