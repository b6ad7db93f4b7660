/**
 * Mutation guard (src/store/postgres/few-at-once.ts FewAtOnce.idle): the ledger's close awaits
 * `usersTried.idle()` and `usersWaited.idle()` (ledger-store.ts close) before it closes the settlements' writer and
 * the pool: the users' waits still running are holds and settlements of users whose rows were held elsewhere. An
 * idle() that resolves while tasks still run lets the stop close the pool under them. The existing guard
 * (engines/postgres-few-at-once-limit) only checks that idle() has resolved once everything ended, never that it had
 * not resolved before.
 *
 * Kills: `if (this.running === 0 && this.queue.length === 0) return Promise.resolve()` → `return Promise.resolve()`.
 */
import { expect, test } from 'bun:test'
import { FewAtOnce } from '../src/store/postgres/few-at-once'

test('FewAtOnce.idle() resolves only once every task given, running or queued, has ended', async () => {
  const few = new FewAtOnce(2)
  const gates: Array<() => void> = []
  let ended = 0
  for (let i = 0; i < 3; i++)
    few.run(async () => {
      await new Promise<void>((resolve) => gates.push(resolve))
      ended++
    })
  let idleAt = -1
  void few.idle().then(() => (idleAt = ended))
  await Bun.sleep(10)
  expect(idleAt).toBe(-1)
  gates.shift()!()
  gates.shift()!()
  await Bun.sleep(10)
  // Two ended, the third (queued until now) still running.
  expect({ ended, idleAt }).toEqual({ ended: 2, idleAt: -1 })
  gates.shift()!()
  await few.idle()
  expect({ ended, idleAt }).toEqual({ ended: 3, idleAt: 3 })
})
