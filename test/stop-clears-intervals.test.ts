/**
 * A stopped gateway leaves nothing running: every interval it started is cleared by `stop()`, the in-memory
 * rate limiters' sweeps included (per IP, per key, and the console's sign-in attempts). Before, nothing stopped
 * those three: after the gateway stopped they ran every minute, each holding its map (up to 100,000 clients)
 * for the life of an embedding process.
 */
import { expect, test } from 'bun:test'

// Every interval started from the gateway's own code (src/), and whether it was cleared.
const live = new Map<unknown, string>()
const realSetInterval = globalThis.setInterval
const realClearInterval = globalThis.clearInterval
;(globalThis as any).setInterval = (...args: any[]) => {
  const timer = (realSetInterval as any)(...args)
  const where = (new Error().stack ?? '').split('\n').slice(2).find((line) => line.includes('/src/'))
  if (where) live.set(timer, where.trim())
  return timer
}
;(globalThis as any).clearInterval = (timer: any) => {
  live.delete(timer)
  return realClearInterval(timer)
}

const { startTestGateway } = await import('./support/gateway')

test('after stop(), no interval the gateway started is still scheduled (rate limiters included)', async () => {
  const gw = await startTestGateway({ config: { rate_limit_per_min: 100 } })
  expect((await fetch(`${gw.url}/health`)).status).toBe(200)
  expect(live.size).toBeGreaterThan(0) // the tracking sees the gateway's intervals
  await gw.stop()
  await Bun.sleep(50)
  expect([...live.values()]).toEqual([])
})
