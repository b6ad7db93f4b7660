/**
 * Mutation guard (src/db/maintenance.ts, yieldToRequests): steps of background work on the request thread share a
 * slice of a few milliseconds between two turns of the event loop, and a step runs in it only if it fits, taking as
 * long as the step before. Run until the slice was spent, a slice ran a step past it: 4–6 ms slices, where a request
 * arriving waited (bench/maintenance-block.ts, round thirty-nine). Turns of the event loop are counted by a chain of
 * `setImmediate`, which runs once a turn: two steps with no turn between them ran in one slice.
 */
import { afterEach, expect, test } from 'bun:test'
import { yieldToRequests } from '../src/db/maintenance'

let turning = true
afterEach(() => void (turning = false))

/** Runs `steps` steps that each keep the thread busy `stepMs`, yielding between them; returns how many ran in each slice. */
async function stepsPerSlice(steps: number, stepMs: number): Promise<number[]> {
  turning = true
  let turns = 0
  const turn = () => {
    turns++
    if (turning) setImmediate(turn)
  }
  setImmediate(turn)
  await Bun.sleep(5)
  const slices: number[] = []
  let lastTurns = -1
  for (let i = 0; i < steps; i++) {
    if (turns !== lastTurns) slices.push(0)
    lastTurns = turns
    slices[slices.length - 1]!++
    const end = performance.now() + stepMs
    while (performance.now() < end);
    await yieldToRequests()
  }
  turning = false
  return slices
}

test('steps longer than half the slice run one a slice, never two', async () => {
  const slices = await stepsPerSlice(12, 2)
  expect(Math.max(...slices)).toBe(1)
})

test('short steps still share a slice, several to a turn', async () => {
  const slices = await stepsPerSlice(60, 0.25)
  // 3 ms slices of 0.25 ms steps: about eleven each here, fewer when other work on the machine stretches a step;
  // one each would be a yield at every step.
  expect(60 / slices.length).toBeGreaterThanOrEqual(2)
})
