import { afterEach, describe, expect, spyOn, test } from 'bun:test'
import { databaseUnavailable } from '../src/http/errors'
import { PruneSchedule } from '../src/records/prune-schedule'
import { RequestLog } from '../src/records/request-log'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Timers may fire a millisecond or two before their delay by the clock's rounding. */
const EARLY_MS = 3

const schedules: PruneSchedule[] = []
afterEach(() => {
  for (const s of schedules.splice(0)) s.stop()
})

/** A prune that records when each run started and ended, and fails its first `failures` runs. */
function recordingPrune(failures: number, takesMs = 0) {
  const runs: { start: number; end: number }[] = []
  let active = 0
  let mostAtOnce = 0
  const prune = async () => {
    const run = { start: performance.now(), end: 0 }
    runs.push(run)
    mostAtOnce = Math.max(mostAtOnce, ++active)
    if (takesMs) await sleep(takesMs)
    active--
    run.end = performance.now()
    if (runs.length <= failures) throw new Error(`unreachable (run ${runs.length})`)
  }
  return { runs, prune, mostAtOnce: () => mostAtOnce }
}

const gaps = (runs: { start: number; end: number }[]) => runs.slice(1).map((r, i) => r.start - runs[i]!.end)

describe('a retention prune that failed is tried again soon, then less often', () => {
  test('two failed runs are retried after the first wait and then twice it; after a success the full wait applies', async () => {
    const errors = spyOn(console, 'error').mockImplementation(() => {})
    try {
      const p = recordingPrune(2)
      schedules.push(new PruneSchedule('test', p.prune, { everyMs: 10_000, firstRetryMs: 60 }))
      const until = performance.now() + 5_000
      while (p.runs.length < 3 && performance.now() < until) await sleep(10)
      expect(p.runs.length).toBe(3)
      const [first, second] = gaps(p.runs)
      expect(first!).toBeGreaterThanOrEqual(60 - EARLY_MS)
      expect(second!).toBeGreaterThanOrEqual(120 - EARLY_MS)
      // The third run succeeded: the next is the full wait away, not another retry.
      await sleep(600)
      expect(p.runs.length).toBe(3)
      expect(errors.mock.calls.map((c) => c[0])).toEqual([
        '[tollgate] test prune failed; trying again in 60 ms',
        '[tollgate] test prune failed; trying again in 120 ms',
      ])
    } finally {
      errors.mockRestore()
    }
  })

  test('the wait after failures doubles up to the full wait and no further', async () => {
    const errors = spyOn(console, 'error').mockImplementation(() => {})
    try {
      const p = recordingPrune(Infinity)
      schedules.push(new PruneSchedule('test', p.prune, { everyMs: 250, firstRetryMs: 50 }))
      const until = performance.now() + 10_000
      while (p.runs.length < 6 && performance.now() < until) await sleep(10)
      const waits = gaps(p.runs).slice(0, 5)
      expect(waits.length).toBe(5)
      for (const [i, least] of [50, 100, 200, 250, 250].entries()) expect(waits[i]!).toBeGreaterThanOrEqual(least - EARLY_MS)
      // Doubling on past the full wait would have waited 400 and then 800 ms.
      expect(waits[4]!).toBeLessThan(700)
    } finally {
      errors.mockRestore()
    }
  })

  test('a prune longer than the wait never runs beside the next one', async () => {
    const p = recordingPrune(0, 150)
    schedules.push(new PruneSchedule('test', p.prune, { everyMs: 40, firstRetryMs: 10 }))
    const until = performance.now() + 10_000
    while (p.runs.length < 4 && performance.now() < until) await sleep(10)
    expect(p.runs.length).toBeGreaterThanOrEqual(4)
    expect(p.mostAtOnce()).toBe(1)
    for (const gap of gaps(p.runs.filter((r) => r.end > 0))) expect(gap).toBeGreaterThanOrEqual(40 - EARLY_MS)
  })

  test('stopped, it runs no more, even when stopped while a run is under way', async () => {
    const p = recordingPrune(0, 50)
    const schedule = new PruneSchedule('test', p.prune, { everyMs: 20, firstRetryMs: 10 })
    await sleep(10)
    schedule.stop()
    await sleep(300)
    expect(p.runs.length).toBe(1)
  })

  test('a prune the database did not answer in time is a one-line warning, not an error with its stack', async () => {
    const warnings = spyOn(console, 'warn').mockImplementation(() => {})
    const errors = spyOn(console, 'error').mockImplementation(() => {})
    try {
      let asked = 0
      schedules.push(
        new PruneSchedule(
          'audit-retention',
          async () => {
            asked++
            throw databaseUnavailable()
          },
          { everyMs: 10_000, firstRetryMs: 60_000 },
        ),
      )
      await sleep(20)
      expect(asked).toBe(1)
      expect(warnings.mock.calls).toEqual([['[tollgate] audit-retention prune failed: the database did not answer in time; trying again in 60 s']])
      expect(errors.mock.calls).toEqual([])
    } finally {
      warnings.mockRestore()
      errors.mockRestore()
    }
  })

  test("the request log's audit retention is on the schedule: a failed prune says when it is tried again", async () => {
    const errors = spyOn(console, 'error').mockImplementation(() => {})
    let asked = 0
    const log = new RequestLog(
      {
        appendRequestLog: () => {},
        storeRefusals: () => {},
        pruneRequestLog: async () => {
          asked++
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432')
        },
        alerts: { prune: async () => 0 } as any,
      },
      30,
    )
    try {
      await sleep(20)
      expect(asked).toBe(1)
      expect(errors.mock.calls.map((c) => c[0])).toEqual(['[tollgate] audit-retention prune failed; trying again in 60 s'])
    } finally {
      log.stop()
      errors.mockRestore()
    }
  })
})
