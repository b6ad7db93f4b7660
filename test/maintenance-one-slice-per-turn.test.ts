/**
 * Maintenance jobs under way together take one slice a turn of the event loop between them, not one each. Each
 * job waited on a timer of its own (src/db/maintenance.ts yieldToRequests): the timers all expired together and
 * ran in one timers pass, each job its own slice, with no I/O polled between them: 40 users' deletions asked for
 * together held the request thread 336 ms. A turn is counted by `setImmediate`, which runs once a turn, after
 * the I/O poll that answers a waiting request.
 */
import { expect, test } from 'bun:test'
import { deleteInBatches, fixedSteps, yieldToRequests } from '../src/db/maintenance'

/** Longer than a slice: each step of a job is a slice of its own. */
const STEP_MS = 6
const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

/** The most steps of `jobs` that ran in one turn of the event loop. */
async function mostStepsInOneTurn(jobs: (step: () => void) => Promise<unknown>[]): Promise<number> {
  let steps = 0
  let most = 0
  let running = true
  const turn = () => {
    most = Math.max(most, steps)
    steps = 0
    if (running) setImmediate(turn)
  }
  setImmediate(turn)
  await Promise.all(
    jobs(() => {
      busy(STEP_MS)
      steps++
    }),
  )
  running = false
  return Math.max(most, steps)
}

test('jobs yielding together run one slice a turn of the event loop between them', async () => {
  const most = await mostStepsInOneTurn((step) =>
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 4; i++) {
        await yieldToRequests()
        step()
      }
    }),
  )
  expect(most).toBe(1)
})

test('deletions asked for in the same turn run their first batches in turns of their own', async () => {
  // Each started by a callback of its own, as the requests read in one turn are each handled by one.
  const startedTogether = <T>(start: () => Promise<T>) => new Promise<T>((resolve) => setTimeout(() => resolve(start()), 0))
  const most = await mostStepsInOneTurn((step) =>
    Array.from({ length: 8 }, () => {
      let left = 3
      return startedTogether(() =>
        deleteInBatches(
          () => {
            step()
            return left-- > 0 ? 10 : 0
          },
          () => false,
          fixedSteps(10),
        ),
      )
    }),
  )
  expect(most).toBe(1)
})

test('a job alone is not slowed: steps cheaper than a slice run back to back', async () => {
  const started = performance.now()
  for (let i = 0; i < 10_000; i++) await yieldToRequests()
  // 10,000 yields a timer each would take 10 s and more; within slices, a few of them.
  expect(performance.now() - started).toBeLessThan(1_000)
})
