import type { Ledger } from './ledger'

/**
 * Settles holds that outlived their TTL (a crashed process, a lost task) at their full amount, at
 * startup and every minute. Several processes may sweep the same database: a hold settles only once.
 */
export function startSweeper(ledger: Ledger, everyMs = 60_000, log: (n: number) => void = logSweep): { stop(): void } {
  let running = false
  const run = async () => {
    if (running) return
    running = true
    try {
      const n = await ledger.sweep()
      if (n > 0) log(n)
    } catch (error) {
      console.error('[tollgate] sweeper failed', error)
    } finally {
      running = false
    }
  }
  run()
  const timer = setInterval(run, everyMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

export const logSweep = (n: number) => console.warn(`[tollgate] sweeper settled ${n} expired hold(s) at their full amount`)
