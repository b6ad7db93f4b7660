import type { Ledger } from './ledger'

/**
 * Settles holds that outlived their TTL (a crashed process, a lost task) at their full amount, at
 * startup and every minute. Several processes may sweep the same file: a hold settles only once.
 */
export function startSweeper(ledger: Ledger, everyMs = 60_000, log: (n: number) => void = logSweep): { stop(): void } {
  const run = () => {
    try {
      const n = ledger.sweep()
      if (n > 0) log(n)
    } catch (error) {
      console.error('[tollgate] sweeper failed', error)
    }
  }
  run()
  const timer = setInterval(run, everyMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

export const logSweep = (n: number) => console.warn(`[tollgate] sweeper settled ${n} expired hold(s) at their full amount`)
