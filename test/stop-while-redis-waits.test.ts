/**
 * The gateway serves from the moment it listens, before `gateway.ready` (up to 1 s spent waiting for a Redis
 * that does not answer, src/redis/link.ts START_WAIT_MS). A SIGTERM or SIGINT in that window (a deploy rolled
 * back at once, a TOLLGATE_WORKERS group stopped while a worker it restarted still waits on Redis: SO_REUSEPORT
 * sends a worker connections as soon as it listens) stops it as gracefully as at any other time: the stream
 * the provider is generating is settled at what it made, and no hold is left for the sweeper to charge in full.
 */
import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { BUN, capturedOutput, MASTER_KEY, ROOT } from './support/gateway'
import { silentRedisStart, streamUnderWay } from './support/silent-redis-start'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

test('SIGTERM while the gateway serves but still waits on a silent Redis at startup stops it gracefully: the stream in flight is settled, no hold is left', async () => {
  const { redisUrl, dir, dbPath, configFile: file, secret, port, url } = await silentRedisStart(cleanup)
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      TOLLGATE_CONFIG: file,
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_HOST: '127.0.0.1',
      TOLLGATE_PORT: String(port),
      TOLLGATE_DB: dbPath,
      TOLLGATE_REDIS_URL: redisUrl,
      TOLLGATE_SHUTDOWN_GRACE_MS: '1000',
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  cleanup.push(() => proc.kill('SIGKILL'))
  const output = capturedOutput(proc)

  // Serving: /health answers while the gateway still waits on Redis (it has not said it listens yet).
  const deadline = Date.now() + 15_000
  while ((await fetch(`${url}/health`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`gateway did not serve:\n${output()}`)
    await Bun.sleep(5)
  }
  await streamUnderWay(url, secret)
  const saidListening = /listening on/.test(output())

  proc.kill('SIGTERM') // the provider is generating; the gateway has served for well under a second
  await proc.exited

  const db = new Database(dbPath, { readonly: true })
  cleanup.push(() => db.close())
  const openHolds = db.query('SELECT amount FROM reservations').all().map((r: any) => r.amount)
  const usage = db.query('SELECT status, cost FROM usage').all()
  expect({ saidListeningBeforeStop: saidListening, exit: proc.signalCode ?? proc.exitCode, openHolds, settled: usage.length }).toEqual({
    saidListeningBeforeStop: false, // the window this test is about
    exit: 0,
    openHolds: [],
    settled: 1,
  })
}, 60_000)
