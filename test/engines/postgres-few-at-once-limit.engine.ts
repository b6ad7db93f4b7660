/**
 * Mutation guard (Postgres store's FewAtOnce, src/store/postgres/few-at-once.ts): the waits for users' rows held
 * elsewhere (PostgresLedgerStore.usersTried / usersWaited, USERS_WAITED_AT_ONCE = 4) each hold a pooled connection
 * for as long as the row stays held (a replica frozen mid-transaction), so no more than `limit` may run at once, or a
 * crowd of stuck users takes the pool the other users' holds need. Nothing else tests the bound itself: the engine
 * suites with stuck users (postgres-stuck-users-other-user-wait-slot, postgres-many-stuck-users-batch) still pass
 * with one wait more than the limit.
 *
 * Kills the mutant: `while (this.running < this.limit && …)` → `while (this.running <= this.limit && …)`.
 */
import { expect, test } from 'bun:test'
import { FewAtOnce } from '../../src/store/postgres/few-at-once'

test('FewAtOnce runs at most `limit` tasks at once, in order, and is idle only once every one has ended', async () => {
  const few = new FewAtOnce(4)
  let running = 0
  let most = 0
  const started: number[] = []
  const gates: Array<() => void> = []
  for (let i = 0; i < 10; i++)
    few.run(async () => {
      started.push(i)
      running++
      most = Math.max(most, running)
      await new Promise<void>((resolve) => gates.push(resolve))
      running--
    })
  await Bun.sleep(10)
  // Four stuck waits: the fifth waits for a slot.
  expect({ running, started }).toEqual({ running: 4, started: [0, 1, 2, 3] })
  let idle = false
  void few.idle().then(() => (idle = true))
  // One ends: one more starts, never more than four at once.
  gates.shift()!()
  await Bun.sleep(10)
  expect({ running, started }).toEqual({ running: 4, started: [0, 1, 2, 3, 4] })
  while (gates.length > 0) {
    gates.shift()!()
    await Bun.sleep(5)
  }
  await few.idle()
  expect({ most, started: started.length, idle }).toEqual({ most: 4, started: 10, idle: true })
})
