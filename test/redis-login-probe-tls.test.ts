/**
 * The Redis login probe (src/redis/auth-refusal.ts), which asks Redis why a connection failed by logging in on a
 * socket of its own, speaks TLS whenever Bun's client does: for `valkeys://` as for `rediss://`. Over cleartext it
 * would write `AUTH <user> <password>` to the host the URL said to reach over TLS only, again on every reconnect.
 *
 * The "Redis" here is a TCP listener on loopback that speaks no TLS: a TLS handshake fails with it, and everything
 * the gateway writes to it is recorded.
 */
import { afterAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'

const PASSWORD = 'valkey-tls-only-password-0123456789'
let received = ''
const listener = Bun.listen({
  hostname: '127.0.0.1',
  port: 0,
  socket: {
    data(socket, chunk) {
      received += Buffer.from(chunk).toString('latin1')
      // Not a TLS server: whatever arrives, the connection is closed (a TLS handshake fails here).
      socket.end()
    },
  },
})
afterAll(() => listener.stop(true))

let gw: SpawnedGateway | undefined
afterAll(async () => {
  await gw?.stop()
})

test('a valkeys:// Redis URL: the password is never written in cleartext, by the login probe either', async () => {
  gw = await spawnGateway({
    env: {
      TOLLGATE_REDIS_URL: `valkeys://tollgate:${PASSWORD}@127.0.0.1:${listener.port}`,
      TOLLGATE_RATE_LIMIT_PER_MIN: '600',
      TOLLGATE_LOG_LEVEL: 'info',
    },
  })
  // The client's connection fails (no TLS there), and the failure is looked into.
  for (let i = 0; i < 100 && !/redis (unreachable|authentication failed)/.test(gw.output()); i++) await Bun.sleep(50)
  expect(gw.output()).toMatch(/redis (unreachable|authentication failed)/)
  await Bun.sleep(300)
  // What arrived in cleartext after the TLS ClientHello, if the password is in it: null when it never left.
  const cleartext = received.includes(PASSWORD) ? received.slice(received.lastIndexOf('*', received.indexOf('AUTH'))) : null
  expect(cleartext).toBeNull()
}, 30_000)

test('a rediss:// Redis URL: the same', async () => {
  await gw?.stop()
  gw = undefined
  received = ''
  const g = await spawnGateway({
    env: {
      TOLLGATE_REDIS_URL: `rediss://tollgate:${PASSWORD}@127.0.0.1:${listener.port}`,
      TOLLGATE_RATE_LIMIT_PER_MIN: '600',
      TOLLGATE_LOG_LEVEL: 'info',
    },
  })
  try {
    for (let i = 0; i < 100 && !/redis (unreachable|authentication failed)/.test(g.output()); i++) await Bun.sleep(50)
    await Bun.sleep(300)
    expect(received.length).toBeGreaterThan(0)
    expect(received.includes(PASSWORD)).toBe(false)
  } finally {
    await g.stop()
  }
}, 30_000)
