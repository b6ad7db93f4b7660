/**
 * Mutation guard: README's table — the reservation TTL: "keep it above the upstream
 * timeout (a warning is printed otherwise)". A hold older than the TTL is settled at its full amount by the
 * sweeper, so a TTL not above the timeout bills a long request that is still running. The warning is due when
 * the TTL is at most the timeout, equal included (600 s against the default 600000 ms), and not when it is above.
 */
import { expect, test } from 'bun:test'
import { spawnGateway } from './support/gateway'

const WARNING = 'TOLLGATE_RESERVATION_TTL_SEC is not above TOLLGATE_UPSTREAM_TIMEOUT_MS'

async function startupOutput(env: Record<string, string>): Promise<string> {
  const gw = await spawnGateway({ env })
  try {
    return gw.output()
  } finally {
    await gw.stop()
  }
}

test('a TTL equal to the upstream timeout is warned of at startup', async () => {
  expect(await startupOutput({ TOLLGATE_RESERVATION_TTL_SEC: '600', TOLLGATE_UPSTREAM_TIMEOUT_MS: '600000' })).toContain(WARNING)
}, 30_000)

test('a TTL below it too; a TTL above it is not warned of', async () => {
  expect(await startupOutput({ TOLLGATE_RESERVATION_TTL_SEC: '60', TOLLGATE_UPSTREAM_TIMEOUT_MS: '600000' })).toContain(WARNING)
  expect(await startupOutput({ TOLLGATE_RESERVATION_TTL_SEC: '601', TOLLGATE_UPSTREAM_TIMEOUT_MS: '600000' })).not.toContain(WARNING)
}, 30_000)
