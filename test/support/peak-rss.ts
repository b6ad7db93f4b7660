import { readFileSync } from 'node:fs'

/** The resident memory of process `pid` now, in MB (Linux's /proc/<pid>/status). */
export const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

/** The resident memory of process `pid` when created, and its peak until `stop`, sampled every 25 ms. */
export class PeakRss {
  readonly before: number
  private peak: number
  private readonly sampler: ReturnType<typeof setInterval>

  constructor(private readonly pid: number) {
    this.before = this.peak = rssMb(pid)
    this.sampler = setInterval(() => (this.peak = Math.max(this.peak, rssMb(this.pid))), 25)
  }

  stop(): { before: number; peak: number } {
    clearInterval(this.sampler)
    return { before: this.before, peak: this.peak }
  }
}
