import { existsSync, readFileSync } from 'node:fs'

/**
 * How long a gateway's request thread was held, measured by what it ran rather than by the clock. A /health answer
 * that took 150 ms on a busy 2-core machine may only have waited for a CPU; what the request thread ran on a CPU
 * while that answer waited is what a job's batch, a parse or a query cost it, whatever else the machine was doing.
 *
 * Read from Linux's /proc/<pid>/task/<pid>/schedstat (the process's main thread, the one that answers requests;
 * its first field is the nanoseconds it has run). Where that file is missing, the wall-clock time stands in: never
 * shorter, so a bound still holds there on a quiet machine.
 */

/** One /health answer: how long it took (ms), and how long the request thread ran meanwhile (ms). */
export interface HealthProbe {
  wall: number
  held: number
}

const ranFile = (pid: number) => `/proc/${pid}/task/${pid}/schedstat`

/** Milliseconds the main thread of `pid` has run on a CPU, or null where Linux does not tell. */
function ranMs(pid: number): number | null {
  const file = ranFile(pid)
  if (!existsSync(file)) return null
  return Number(readFileSync(file, 'utf8').split(' ')[0]) / 1e6
}

/** Asks the gateway at `url` (its process `pid`: this one for a gateway started in the test) for /health once. */
export async function probeHealth(url: string, pid = process.pid): Promise<HealthProbe> {
  const ranBefore = ranMs(pid)
  const t = performance.now()
  const res = await fetch(`${url}/health`)
  await res.arrayBuffer()
  if (res.status !== 200) throw new Error(`/health answered ${res.status}`)
  const wall = performance.now() - t
  const ranAfter = ranMs(pid)
  return { wall, held: ranBefore === null || ranAfter === null ? wall : ranAfter - ranBefore }
}

/**
 * Milliseconds the main thread of `pid` ran on a CPU while `work` ran: what a series of requests cost the request
 * thread together. Where Linux does not tell, the wall-clock time stands in.
 */
export async function threadRanDuring(pid: number, work: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  const ranBefore = ranMs(pid)
  await work()
  const ranAfter = ranMs(pid)
  return ranBefore === null || ranAfter === null ? performance.now() - t : ranAfter - ranBefore
}

/**
 * Waits until the main thread of `pid` is quiet (it ran under 5 ms in a quarter of a second: a start's own jobs are
 * done), at most `withinMs`. Where Linux does not tell, a fixed wait.
 */
export async function quietThread(pid: number, withinMs = 20_000): Promise<void> {
  const until = performance.now() + withinMs
  for (;;) {
    const before = ranMs(pid)
    await Bun.sleep(250)
    const after = ranMs(pid)
    if (before === null || after === null || after - before < 5 || performance.now() > until) return
  }
}

/** The slowest of a series of probes, by each measure. */
export class WorstProbe {
  wall = 0
  held = 0

  add(probe: HealthProbe): void {
    this.wall = Math.max(this.wall, probe.wall)
    this.held = Math.max(this.held, probe.held)
  }

  toString(): string {
    return `worst /health ${this.wall.toFixed(0)} ms, request thread held ${this.held.toFixed(0)} ms`
  }
}

/** The worst /health probes while `work` runs: one always in flight, so a hold of the request thread shows in one. */
export async function worstHoldDuring(url: string, work: Promise<unknown>, pid = process.pid): Promise<WorstProbe> {
  let done = false
  void work.finally(() => {
    done = true
  })
  const worst = new WorstProbe()
  while (!done) worst.add(await probeHealth(url, pid))
  await work
  return worst
}
