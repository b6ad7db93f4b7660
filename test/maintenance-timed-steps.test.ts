/**
 * Mutation guard (src/db/maintenance.ts, TimedSteps): a maintenance step on SQLite runs on the request thread, and what
 * a row costs there depends on where its index entries lie (20–65 µs for random ids, a few for rows in order). The
 * next step's size follows the last one's time toward about 1 ms, at most doubling or halving, within 10 to 1,000 rows;
 * a short last step (the end of the rows) changes nothing.
 */
import { expect, test } from 'bun:test'
import { FIRST_STEP_ROWS, TimedSteps } from '../src/db/maintenance'

test('a step that took twice the aim halves the next; one far under it doubles it, no more', () => {
  const steps = new TimedSteps()
  expect(steps.rows).toBe(FIRST_STEP_ROWS)
  steps.took(2, steps.rows)
  expect(steps.rows).toBe(FIRST_STEP_ROWS / 2)
  steps.took(0.01, steps.rows)
  expect(steps.rows).toBe(FIRST_STEP_ROWS)
  // Three-quarters of the aim: a third more rows.
  steps.took(0.75, steps.rows)
  expect(steps.rows).toBe(Math.round((FIRST_STEP_ROWS * 4) / 3))
})

test('the size stays within 10 and 1,000 rows, and a short step (the last rows) leaves it as it was', () => {
  const steps = new TimedSteps()
  for (let i = 0; i < 20; i++) steps.took(0, steps.rows)
  expect(steps.rows).toBe(1000)
  steps.took(500, 3)
  expect(steps.rows).toBe(1000)
  for (let i = 0; i < 20; i++) steps.took(1000, steps.rows)
  expect(steps.rows).toBe(10)
})
