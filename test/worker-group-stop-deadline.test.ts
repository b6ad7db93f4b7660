/**
 * A TOLLGATE_WORKERS group's stop has a deadline. The primary asks every worker to stop (SIGTERM) and waits for
 * them; a worker that hangs on its stop (frozen here with SIGSTOP, as a process stuck in the kernel or a
 * debugger would be) must not keep the primary, and the port's lock, forever. Past the longest a gateway's own
 * stop may take (gatewayStopBoundMs: its grace, then its final writes), the primary kills the stragglers, says
 * so, and ends.
 */
import { afterEach, expect, test } from 'bun:test'
import { gatewayStopBoundMs } from '../src/gateway-stop'
import { waitFor } from './support/wait-for'
import { spawnWorkerGroup } from './support/worker-group'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('a worker that hangs on stop is killed once the shutdown grace and a margin have passed; the group ends and frees the port', async () => {
  const settings = { workers: 2, shutdown_grace_ms: 500 }
  const boundMs = gatewayStopBoundMs({ ...settings, database_timeout_ms: 3_000 })
  const { primary, port, output: out, workerPids } = spawnWorkerGroup(settings, cleanups)
  cleanups.push(() => {
    for (const pid of workerPids())
      if (alive(pid)) {
        process.kill(pid, 'SIGKILL')
        process.kill(pid, 'SIGCONT')
      }
  })
  expect(await waitFor(20_000, () => out().includes('2 workers sharing the port'))).toBe(true)
  expect(await waitFor(5_000, () => workerPids().length === 2)).toBe(true)
  const [frozen, other] = workerPids() as [number, number]

  process.kill(frozen, 'SIGSTOP')
  const stopAsked = Date.now()
  primary.kill('SIGTERM')
  // The bound, with room for a busy machine; without a deadline, never.
  const ended = await waitFor(boundMs + 10_000, () => primary.exitCode !== null)
  const took = Date.now() - stopAsked
  await waitFor(2_000, () => out().includes('SIGKILL'))

  expect({ ended, exitCode: primary.exitCode, frozenAlive: alive(frozen), otherAlive: alive(other) }).toEqual({
    ended: true,
    exitCode: 0,
    frozenAlive: false,
    otherAlive: false,
  })
  // Not before its stop could have ended on its own, its final writes waiting out another process's lock.
  expect(took).toBeGreaterThanOrEqual(boundMs)
  expect(out()).toMatch(new RegExp(`worker\\(s\\) pid ${frozen} still running .*killing them \\(SIGKILL\\)`))
  // The port's lock is free: a gateway may start on the port again.
  const lock = Bun.listen({ unix: `\0tollgate:port:${port}`, socket: { data() {} } })
  lock.stop(true)
}, 60_000)
